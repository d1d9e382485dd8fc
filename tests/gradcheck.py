"""Central-difference gradient checking shared by the zoo's tests (float64 throughout)."""

import numpy as np


def rel_error(num, ana):
    """Relative error ||num - ana|| / (||num|| + ||ana||) of two gradients."""
    num, ana = np.asarray(num, np.float64), np.asarray(ana, np.float64)
    return np.linalg.norm(num - ana) / max(np.linalg.norm(num) + np.linalg.norm(ana), 1e-12)


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar f() with respect to the array x (perturbed in place)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g
