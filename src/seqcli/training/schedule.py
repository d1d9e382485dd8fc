"""The learning-rate schedule the loop applies to any optimizer: linear warm-up, then decay.

    factor(t) = t / warmup             for steps t = 1 .. warmup
              = sqrt(warmup / t)       after: inverse square root (Vaswani et al. 2017)

and the optimizer's step size at step t is ``lr * factor(t)``, so ``--lr`` is the peak. Why warm-up:
Adam's second moments are estimated from a handful of gradients at first, and a Transformer's
attention weights are large-gradient, so full steps at once tend to send it into a poor region
(LayerNorm'd pre-norm blocks make it survivable, not good). Why inverse square root rather than a
cosine to a final step: it needs no total, so a run bounded by ``--max-time`` or early stopping decays
the same way as one that runs out its epochs. The factor depends on the step number only, so a resumed
run continues on the very same curve. ``warmup`` None or 0: a constant rate (the recurrent models'
default).
"""

import math


def lr_factor(step, warmup):
    """The multiplier of the base learning rate at optimizer step ``step`` (1-based)."""
    if not warmup:
        return 1.0
    if step <= warmup:
        return step / warmup
    return math.sqrt(warmup / step)
