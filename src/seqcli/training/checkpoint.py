"""The one checkpoint of every task: everything ``--resume`` needs to continue a halted run exactly.

A checkpoint is a seqcli file of kind "checkpoint" (see persist.py: plain arrays plus a JSON header,
written atomically, never pickled) beside the model file: ``model.npz`` -> ``model.ckpt.npz``. It holds

- header: the task, the model name, every hyperparameter of the run (so the same job can be rebuilt
  from the same data), the data's fingerprint, the loop position (``TrainState``), the optimizer's
  scalar state and the task's own extra scalars;
- arrays: the current weights (``cur.*``), the best weights so far (``best.*``), the optimizer's moments
  (``opt.*``) and the task's own extra arrays (``extra.*``, e.g. a language model's recurrent state
  carried into the next window).
"""

import hashlib
import os
from dataclasses import dataclass, field

from seqcli.errors import SeqcliError
from seqcli.training.loop import TrainState

KIND = "checkpoint"


def path_for(output):
    """Where the resumable state of ``output`` goes: model.npz -> model.ckpt.npz."""
    root, ext = os.path.splitext(os.fspath(output))
    return f"{root}.ckpt{ext or '.npz'}"


def fingerprint(pieces):
    """sha256 over a sequence of strings (the training data), so --resume can tell it is given the same
    data. Each piece is closed by a NUL byte, so ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class ResumePoint:
    """What a checkpoint restores: current and best weights, optimizer state, loop position, extras."""
    params: dict                 # name -> array, the weights when training stopped
    best_params: dict            # name -> array, the best weights by validation so far
    opt_arrays: dict             # the optimizer's moments ("m.W", "v.W", ...)
    opt_meta: dict               # the optimizer's scalars ({"t": steps})
    state: TrainState
    extra_arrays: dict = field(default_factory=dict)   # the task's own arrays
    extra_meta: dict = field(default_factory=dict)     # the task's own scalars
    source: str = ""                                   # the checkpoint file, for messages


def save(path, identity, point, reason=""):
    """Write ``point`` to ``path``; ``identity`` = {"task", "model", "params", "data_sha256"}; ``reason``:
    why the run halted ("interrupted", "reached --max-steps 12", ...)."""
    from seqcli import persist

    arrays = {f"cur.{k}": v for k, v in point.params.items()}
    arrays.update({f"best.{k}": v for k, v in point.best_params.items()})
    arrays.update({f"opt.{k}": v for k, v in point.opt_arrays.items()})
    arrays.update({f"extra.{k}": v for k, v in point.extra_arrays.items()})
    header = {**identity, "opt_meta": point.opt_meta, "train_state": point.state.to_json(),
              "extra_meta": point.extra_meta, "halted": reason}
    persist.save_model(path, KIND, header, arrays)


def load(path, budget=None):
    """(identity, ResumePoint) from a checkpoint file; SeqcliError naming the file when damaged.

    budget: {"max_steps": ..., "max_time": ...} of the new command line: the only settings a resumed
    run may take from it (everything else is the halted run's, so it ends as an uninterrupted run
    would). Both are totals over the whole run. A budget not given (None) stays the stored one,
    except the budget that halted the run: resuming without it means going on to the end.
    """
    from seqcli import persist

    header, arrays = persist.load_model(path, {KIND})
    if "task" not in header:
        raise SeqcliError(f"{path}: a checkpoint of seqcli 0.1, which this version cannot resume; "
                          "train again")
    try:
        identity = {k: header[k] for k in ("task", "model", "params", "data_sha256")}
        if not isinstance(identity["params"], dict) or not isinstance(identity["task"], str):
            raise TypeError("params is not a mapping")
        params = dict(identity["params"])
        reached = str(header.get("halted", ""))
        for key in ("max_steps", "max_time"):
            if reached.startswith(f"reached --{key.replace('_', '-')}"):
                params.pop(key, None)
        identity["params"] = {**params, **{k: v for k, v in (budget or {}).items() if v is not None}}
        identity["data"] = header.get("data") or {}

        def pick(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        point = ResumePoint(pick("cur."), pick("best."), pick("opt."), dict(header["opt_meta"]),
                            TrainState(**header["train_state"]), pick("extra."), dict(header["extra_meta"]),
                            os.fspath(path))
        return identity, point
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeqcliError(f"{path}: damaged checkpoint ({exc})") from None
