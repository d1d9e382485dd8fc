"""Optimizers shared by every model: SGD with momentum and Adam.

State is kept per parameter name, so a checkpoint can store it beside the parameters and a
resumed run continues with exactly the same moments. Updates are in place on the param arrays.

Per-parameter rates (``optimizer.scale``, name -> scale; a name not in it has scale 1): transfer
learning freezes pretrained weights and gives lower layers smaller steps. A scale is

- a number: the step of that parameter is multiplied by it (discriminative learning rates);
  0 freezes the parameter: no update, no weight decay, and its moments stay as they were, so a
  parameter unfrozen later starts from clean moments as if it had not been trained in between;
- a 0/1 array broadcastable to the parameter (a frozen column is a 0 in a (1, n) row): the entries
  at 0 are frozen the same way, the others train at full rate.

``trainable(grads)`` applies the same rule to a batch's gradients before they are clipped, so a
frozen weight's gradient neither counts in the global norm nor shrinks the others'.
"""

import numpy as np


class _Scaled:
    """The per-parameter scales both optimizers share (see the module docstring)."""

    scale = None   # name -> float or 0/1 array; set by the training driver, epoch by epoch

    def trainable(self, grads):
        """``grads`` without the frozen parameters, frozen entries zeroed (in place); returns it."""
        for name, s in (self.scale or {}).items():
            if name not in grads:
                continue
            if np.ndim(s) == 0:
                if s == 0:
                    del grads[name]
            else:
                grads[name] *= s
        return grads

    def _scaled(self, name, p, g):
        """(gradient with weight decay, step factor or None when frozen) of parameter ``name``."""
        s = 1.0 if not self.scale else self.scale.get(name, 1.0)
        if np.ndim(s) == 0 and s == 0:
            return g, None
        if self.weight_decay and _decays(name):
            g = g + self.weight_decay * p
        if np.ndim(s) != 0:
            g = g * s   # the decay of frozen entries too
        return g, s


class SGD(_Scaled):
    """Stochastic gradient descent with (heavy-ball) momentum and optional L2 weight decay."""

    def __init__(self, lr=0.1, momentum=0.9, weight_decay=0.0):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = {}
        self.t = 0

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes)."""
        self.t += 1
        for name, g in grads.items():
            p = params[name]
            g, s = self._scaled(name, p, g)
            if s is None:
                continue
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(p)
            v *= self.momentum
            v += g
            p -= (self.lr * s) * v if np.ndim(s) == 0 else (self.lr * v * s).astype(p.dtype, copy=False)

    def state_arrays(self):
        """The optimizer's state as ``{name: array}`` plus a small JSON-able dict, for checkpoints."""
        return {f"v.{k}": v for k, v in self.velocity.items()}, {"t": self.t}

    def load_state(self, arrays, meta):
        self.velocity = {k[2:]: v.copy() for k, v in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])


class Adam(_Scaled):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds L2 to the gradient.

    The L2 term goes into the gradient (classic L2 regularisation, the loss the BoW model states),
    not decoupled AdamW decay. Biases (names ending in "b" or starting with "b") are not decayed.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay = weight_decay
        self.m, self.v = {}, {}
        self.t = 0
        self.behind = {}   # name -> steps it sat frozen: its own step count is t - behind[name]

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes)."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for name in self.m.keys() - grads.keys():   # frozen this step (``trainable`` dropped it)
            self.behind[name] = self.behind.get(name, 0) + 1
        for name, g in grads.items():
            p = params[name]
            g, s = self._scaled(name, p, g)
            if s is None:
                self.behind[name] = self.behind.get(name, 0) + (name in self.m)
                continue
            m = self.m.get(name)
            if m is None:
                m = self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
                if self.t > 1:
                    self.behind[name] = self.t - 1   # first trained now (frozen until this step)
            # bias corrections by the parameter's own step count (a parameter unfrozen late starts
            # like a new one), folded into the step size (the usual efficient form)
            t = self.t - self.behind.get(name, 0)
            step = self.lr * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            v = self.v[name]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            update = step * m / (np.sqrt(v) + self.eps)
            if np.ndim(s) != 0 or s != 1.0:
                update *= s   # frozen entries: m is 0 there already; a factor: a smaller step
            p -= update.astype(p.dtype, copy=False)

    def state_arrays(self):
        arrays = {f"m.{k}": a for k, a in self.m.items()}
        arrays.update({f"v.{k}": a for k, a in self.v.items()})
        meta = {"t": self.t}
        if self.behind:
            meta["behind"] = dict(self.behind)
        return arrays, meta

    def load_state(self, arrays, meta):
        self.m = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("m.")}
        self.v = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])
        self.behind = {str(k): int(n) for k, n in dict(meta.get("behind") or {}).items()}


def _decays(name):
    """Weights are L2-penalised, biases are not (a penalised bias only shifts the prior)."""
    leaf = name.rsplit(".", 1)[-1]
    return not (leaf.startswith("b") or leaf.endswith("_b"))


def make_optimizer(name, lr, weight_decay=0.0, momentum=0.9):
    """Build an optimizer by name ("adam" or "sgd")."""
    if name == "adam":
        return Adam(lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (choose adam or sgd)")
