"""Optimizers shared by every model: SGD with momentum, Adam and AdamW.

State is kept per parameter name, so a checkpoint can store it beside the parameters and a
resumed run continues with exactly the same moments. Updates are in place on the param arrays.
"""

import numpy as np


class SGD:
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
            if self.weight_decay and _decays(name):
                g = g + self.weight_decay * p
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(p)
            v *= self.momentum
            v += g
            p -= self.lr * v

    def state_arrays(self):
        """The optimizer's state as ``{name: array}`` plus a small JSON-able dict, for checkpoints."""
        return {f"v.{k}": v for k, v in self.velocity.items()}, {"t": self.t}

    def load_state(self, arrays, meta):
        self.velocity = {k[2:]: v.copy() for k, v in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])


class Adam:
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds L2 to the gradient.

    The L2 term goes into the gradient (classic L2 regularisation, the loss the BoW model states).
    Biases (names ending in "b" or starting with "b") are not decayed.

    ``decoupled=True`` is AdamW (Loshchilov & Hutter): the decay is not part of the gradient, so
    Adam's per-weight scaling does not weaken it where gradients are large; each step shrinks the
    weight by ``lr * weight_decay`` of itself, and only matrices (both sides > 1: projections,
    embeddings, learned positions), never biases or LayerNorm gains, whose size is not capacity.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay, self.decoupled = weight_decay, bool(decoupled)
        self.m, self.v = {}, {}
        self.t = 0

    def step(self, params, grads):
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes)."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # bias corrections folded into the step size (the usual efficient form)
        step = self.lr * np.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
        for name, g in grads.items():
            p = params[name]
            if self.weight_decay and not self.decoupled and _decays(name):
                g = g + self.weight_decay * p
            m = self.m.get(name)
            if m is None:
                m = self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
            v = self.v[name]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            if self.weight_decay and self.decoupled and p.ndim == 2 and min(p.shape) > 1:
                p *= 1.0 - self.lr * self.weight_decay
            p -= (step * m / (np.sqrt(v) + self.eps)).astype(p.dtype, copy=False)

    def state_arrays(self):
        arrays = {f"m.{k}": a for k, a in self.m.items()}
        arrays.update({f"v.{k}": a for k, a in self.v.items()})
        return arrays, {"t": self.t}

    def load_state(self, arrays, meta):
        self.m = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("m.")}
        self.v = {k[2:]: a.copy() for k, a in arrays.items() if k.startswith("v.")}
        self.t = int(meta["t"])


def _decays(name):
    """Weights are L2-penalised, biases are not (a penalised bias only shifts the prior)."""
    leaf = name.rsplit(".", 1)[-1]
    return not (leaf.startswith("b") or leaf.endswith("_b"))


def make_optimizer(name, lr, weight_decay=0.0, momentum=0.9):
    """Build an optimizer by name ("adam", "adamw" or "sgd")."""
    if name in ("adam", "adamw"):
        return Adam(lr=lr, weight_decay=weight_decay, decoupled=name == "adamw")
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (choose adam, adamw or sgd)")
