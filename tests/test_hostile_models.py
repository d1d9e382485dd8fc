"""Damaged and hostile model files, and saves that must lose nothing (issue 7, parts 2 and 3).

Every command that reads a model file (predict, predict --explain, vectorize --load, train
--resume, generate) is given each kind of damage and must answer with one line naming the file and
what is wrong: exit 1, nothing on stdout, no traceback, nothing executed. ``tests/test_persist.py``
checks the loader function itself; here it is the command a user runs.

Nothing lost: a save killed with SIGKILL at a random moment leaves the old file or the new one,
whole; a full disk gives a clear error and leaves the old file untouched; a device is never
replaced by a model file. (SIGINT during training: tests/test_resume.py.)

Behaviour chosen: float arrays holding NaN or infinity, and dtypes no seqcli model uses (complex,
bytes, structured, dates) are refused at load, like object arrays.
"""

import hashlib
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from conftest import _env, csv_text, separable_rows

# ------------------------------------------------------------------------------------- helpers


def run(args, input=None, app=None):
    if app is None:
        from seqcli.cli import app
    result = CliRunner().invoke(app, [str(a) for a in args], input=input if input is not None else b"")
    return result.exit_code, result.stdout, result.stderr


def assert_error(rc, out, err, *, mentions=()):
    assert rc == 1, (rc, out[-300:], err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("seqcli: error: "), err
    for word in mentions:
        assert str(word) in lines[0], (word, err)
    assert out == ""


def _generate_app():
    """``seqcli generate`` if the CLI registers it, else the command on a local Typer app."""
    from seqcli.cli import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    if "generate" in names:
        return app, ["generate"]
    from seqcli.cli import guarded
    from seqcli.cli.generate import generate

    local = typer.Typer(add_completion=False)
    local.command()(guarded(generate))
    return local, []


def read_model(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("__header__")[()])), arrays


def write_model(path, header, arrays):
    """A model file as numpy writes it (np.savez: so object arrays get pickled, as an attacker's)."""
    np.savez(path, __header__=np.array(json.dumps(header)), **arrays)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_models")


@pytest.fixture(scope="module")
def files(folder):
    """One file of each kind: bow, seq (LSTM) and lm models, a vectorizer and a checkpoint."""
    from seqcli import api, models
    from seqcli.estimators import BowClassifier, SeqClassifier
    from lmtrain import train_lm

    rows = separable_rows(60)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    out = {"csv": folder / "data.csv"}
    out["csv"].write_text(csv_text(rows), encoding="utf-8")
    for name, est in (("bow", BowClassifier(epochs=3, lr=0.2)),
                      ("seq", SeqClassifier(cell="lstm", hidden=8, embed=8, epochs=1))):
        est.fit(texts, labels)
        out[name] = folder / f"{name}.npz"
        models.save(out[name], est.model_)
    corpus = folder / "fox.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog.\n" * 12, encoding="utf-8")
    out["lm"] = folder / "lm.npz"
    train_lm(corpus, out["lm"], dict(hidden=16, embed=8, seq_len=16, batch_size=4, lr=0.02, epochs=1,
                                     val_split=0, seed=1))
    out["vectorizer"] = folder / "vec.npz"
    assert run(["vectorize", "--save", out["vectorizer"], "--vocab"], input="good film\n")[0] == 0
    summary = api.train(out["csv"], folder / "halted.npz", 'classify', "bow", {"max_steps": 1, "epochs": 5})
    out["checkpoint"] = folder / "halted.ckpt.npz"
    assert summary["checkpoint"] == str(out["checkpoint"]) and out["checkpoint"].exists()
    return out


def consume(kind, path, files):
    """Run the command that reads a file of ``kind`` on ``path``: (rc, stdout, stderr)."""
    if kind == "bow":
        return run(["predict", path], input="good film\n")
    if kind == "seq":
        return run(["predict", path, "--explain", "--json"], input="good film\n")
    if kind == "lm":
        app, prefix = _generate_app()
        return run([*prefix, path, "--length", "20", "--seed", "1"], app=app)
    if kind == "vectorizer":
        return run(["vectorize", "--load", path], input="good film\n")
    if kind == "checkpoint":
        return run(["train", files["csv"], "-o", path.parent / "resumed.npz", "--resume", path])
    if kind == "classifier":  # compare evaluates a saved classifier as it is
        return run(["compare", files["csv"], "--models", path, "--folds", "2"])
    raise AssertionError(kind)


KINDS = ["bow", "seq", "lm", "vectorizer", "checkpoint"]

# ------------------------------------------------------------------------------------ damage


def _bomb(src, dst):
    """The file with one member replaced by 64 MB of deflated zeros (~64 KB on disk)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        victim = sorted(n for n in zin.namelist() if n != "__header__.npy")[0]
        for name in zin.namelist():
            if name != victim:
                zout.writestr(name, zin.read(name))
        head = io.BytesIO()
        n = (64 << 20) // 8
        np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
        info = zipfile.ZipInfo(victim)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(info, "w", force_zip64=True) as out:
            out.write(head.getvalue())
            chunk = bytes(1 << 20)
            for _ in range(64):
                out.write(chunk)
    return dst


def _edit_header(src, dst, edit):
    header, arrays = read_model(src)
    edit(header)
    return write_model(dst, header, arrays)


def _edit_arrays(src, dst, edit):
    header, arrays = read_model(src)
    edit(arrays)
    return write_model(dst, header, arrays)


def _first_float(arrays):
    """The first float array (a vectorizer of counts has none: then its first integer array)."""
    floats = sorted(k for k, v in arrays.items() if v.dtype.kind == "f")
    return floats[0] if floats else sorted(k for k, v in arrays.items() if v.dtype.kind in "iu")[0]


def _set(key, value):
    return lambda a: a.__setitem__(key(a), value(a[key(a)]))


DAMAGE = {
    "zero-bytes": lambda s, d: (d.write_bytes(b""), d)[1],
    "truncated-half": lambda s, d: (d.write_bytes(s.read_bytes()[: s.stat().st_size // 2]), d)[1],
    "truncated-last-byte": lambda s, d: (d.write_bytes(s.read_bytes()[:-1]), d)[1],
    "random-bytes": lambda s, d: (d.write_bytes(np.random.default_rng(7).bytes(5000)), d)[1],
    "text-file": lambda s, d: (d.write_text("text,label\ngood,pos\n"), d)[1],
    "zip-bomb": _bomb,
    "header-not-json": lambda s, d: _edit_arrays(s, d, lambda a: a) and _raw_header(d, "{not json"),
    "header-no-format-tag": lambda s, d: _edit_header(s, d, lambda h: h.pop("format")),
    "header-unknown-kind": lambda s, d: _edit_header(s, d, lambda h: h.update(kind="hologram")),
    "header-newer-version": lambda s, d: _edit_header(s, d, lambda h: h.update(format_version=99,
                                                                             seqcli_version="9.0")),
    "header-missing-version": lambda s, d: _edit_header(s, d, lambda h: h.pop("format_version")),
    "header-missing-config": lambda s, d: _edit_header(s, d, lambda h: h.pop(_CONFIG_KEY[h["kind"]])),
    "header-wrong-shapes": lambda s, d: _edit_header(s, d, _grow_declared_sizes),
    "array-missing": lambda s, d: _edit_arrays(s, d, lambda a: a.pop(sorted(a)[0])),
    "array-transposed": lambda s, d: _edit_arrays(s, d, _transpose_biggest),
    "array-extra-dim": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: v[None, None])),
    "array-nan": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: np.full(v.shape, np.nan))),
    "array-inf": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: np.full(v.shape, -np.inf))),
    "array-complex": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: v.astype(np.complex64))),
    "array-bytes": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: np.zeros(v.shape, "S3"))),
    "array-datetime": lambda s, d: _edit_arrays(s, d, _set(_first_float, lambda v: np.zeros(v.shape, "M8[s]"))),
}


_CONFIG_KEY = {"bow": "config", "seq": "config", "lm": "net", "vectorizer": "vectorizer",
               "checkpoint": "params"}


def _raw_header(path, text):
    header, arrays = read_model(path)
    np.savez(path, __header__=np.array(text), **arrays)
    return path


def _grow_declared_sizes(h):
    """Declared sizes that disagree with the arrays (n_features, hidden, vocabulary size...)."""
    if h["kind"] == "checkpoint":  # the run's settings build a network of other shapes than its arrays
        h["params"] = {**h["params"], "hash_bits": 2}
    elif h["kind"] == "vectorizer":
        h["vectorizer"]["n_cols"] += 3
    else:
        h["net"] = {k: (v + 3 if isinstance(v, int) and not isinstance(v, bool) and k != "seed" else v)
                    for k, v in h["net"].items()}


def _transpose_biggest(a):
    key = max((k for k, v in a.items() if v.ndim == 2 and v.shape[0] != v.shape[1] and v.dtype.kind == "f"),
              key=lambda k: a[k].size, default=None)
    if key is None:  # vectorizer: no 2-d array; give a 1-d one a second axis
        key = sorted(k for k, v in a.items() if v.ndim == 1)[0]
        a[key] = a[key][:, None].repeat(2, axis=1)
    else:
        a[key] = a[key].T.copy()


def _damage_cases():
    for kind in KINDS:
        for damage in sorted(DAMAGE):
            yield pytest.param(kind, damage, id=f"{kind}-{damage}")


@pytest.mark.parametrize("kind,damage", list(_damage_cases()))
def test_damaged_file_is_one_line_naming_the_file(files, folder, kind, damage):
    path = DAMAGE[damage](files[kind], folder / f"{kind}-{damage}.npz")
    rc, out, err = consume(kind, path, files)
    assert_error(rc, out, err, mentions=[path.name])


def test_what_is_wrong_is_said(files, folder):
    """A few damages whose message must say more than "damaged"."""
    cases = {"header-newer-version": ["newer seqcli", "upgrade"], "header-unknown-kind": ["hologram"],
             "zip-bomb": ["refused"], "array-nan": ["NaN or infinite"], "array-complex": ["complex"],
             "truncated-half": ["truncated or damaged"], "zero-bytes": ["not a valid .npz"]}
    for damage, words in cases.items():
        path = DAMAGE[damage](files["bow"], folder / f"said-{damage}.npz")
        assert_error(*consume("bow", path, files), mentions=[path.name, *words])


# ---------------------------------------------------------------- hostile: pickles never run


class _Marker:
    """Unpickling this creates the marker file: proof that code from the model file ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("kind", KINDS)
def test_object_array_is_refused_and_never_unpickled(files, folder, kind):
    marker = folder / f"pwned-{kind}"
    header, arrays = read_model(files[kind])
    arrays[sorted(arrays)[0]] = np.array([_Marker(str(marker)), 1], dtype=object)
    path = write_model(folder / f"evil-{kind}.npz", header, arrays)
    # the payload works: plain pickle-enabled loading would create the marker
    rc, out, err = consume(kind, path, files)
    assert_error(rc, out, err, mentions=[path.name])
    assert not marker.exists()


def test_pickle_payload_is_real_and_a_real_process_does_not_run_it(files, folder):
    marker = folder / "pwned-proc"
    header, arrays = read_model(files["bow"])
    arrays["net.W"] = np.array([_Marker(str(marker))], dtype=object)
    path = write_model(folder / "evil-proc.npz", header, arrays)
    proc = subprocess.run([sys.executable, "-m", "seqcli", "predict", str(path)], input=b"good\n",
                          capture_output=True, env=_env(), timeout=60)
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr and not marker.exists()
    assert proc.stderr.decode().count("\n") == 1 and b"evil-proc.npz" in proc.stderr
    with np.load(path, allow_pickle=True) as z:  # the control: unpickling does run the payload
        z["net.W"]
    assert marker.exists()


# ------------------------------------------------------------------ the wrong kind of file


@pytest.mark.parametrize("given,consumer,words", [
    ("lm", "classifier", ["character language model", "classifier"]),
    ("vectorizer", "classifier", ["vectorizer", "classifier"]),
    ("lm", "vectorizer", ["character language model", "vectorizer"]),
    ("lm", "checkpoint", ["character language model", "checkpoint"]),
    ("bow", "lm", ["bag-of-words classifier", "language model"]),
    ("seq", "lm", ["recurrent classifier", "language model"]),
    ("vectorizer", "lm", ["vectorizer", "language model"]),
    ("checkpoint", "bow", ["training checkpoint", "classifier"]),
    ("checkpoint", "lm", ["training checkpoint", "language model"]),
    ("vectorizer", "seq", ["vectorizer", "a character language model or a classifier is needed"]),
])
def test_the_wrong_kind_of_file_says_both_kinds(files, given, consumer, words):
    assert_error(*consume(consumer, files[given], files), mentions=[files[given].name, *words])


def test_a_language_model_has_no_classes_for_predict_proba(files):
    rc, out, err = run(["predict", files["lm"], "--proba"], input="the fox\n")
    assert rc == 2 and out == "" and "--proba" in err and "no classes" in err and "Traceback" not in err


def test_every_consumer_reads_its_own_kind(files):
    """The control for the tests above: the undamaged files work."""
    for kind in ("bow", "seq", "lm", "vectorizer"):
        rc, out, err = consume(kind, files[kind], files)
        assert rc == 0 and out, (kind, err)


# -------------------------------------- hostile headers found by fuzzing (bugs outside my files)


class _TooSlow(BaseException):
    """Raised by an alarm; a BaseException so no ``except Exception`` in seqcli swallows it."""


def _load_within(path, seconds):

    def alarm(*_):
        raise _TooSlow

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return run(["predict", path, "--explain", "--json"], input="good film\n")
    except _TooSlow:
        pytest.fail(f"loading {path.name} did not finish in {seconds}s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _net_edit(key, value):
    return lambda h: h["net"].__setitem__(key, value)


@pytest.mark.parametrize("kind,key,value", [
    ("seq", "layers", 10**12), ("lm", "layers", 10**12),  # builds layer after layer: hangs
    ("seq", "hidden", 0), ("seq", "hidden", -1), ("lm", "hidden", 0),  # OverflowError in init
    ("seq", "hidden", 10**12), ("bow", "n_features", 10**12),  # "out of memory" without the file name
])
def test_sizes_in_the_header_are_checked_before_anything_is_allocated(files, folder, kind, key, value):
    path = _edit_header(files[kind], folder / f"size-{kind}-{key}-{value}.npz", _net_edit(key, value))
    rc, out, err = _load_within(path, 2)
    assert_error(rc, out, err, mentions=[path.name])


@pytest.mark.parametrize("kind", ["bow", "seq"])
def test_config_that_is_not_a_mapping(files, folder, kind):
    path = _edit_header(files[kind], folder / f"cfg-{kind}.npz", lambda h: h.update(config=[1, 2]))
    assert_error(*consume(kind, path, files), mentions=[path.name])


def test_config_value_of_the_wrong_type(files, folder):
    path = _edit_header(files["seq"], folder / "maxlen.npz", lambda h: h["config"].update(max_len="x"))
    assert_error(*run(["predict", path], input="good film\n"), mentions=[path.name])


@pytest.mark.parametrize("kind,array,dtype", [("bow", "net.b", np.int64), ("bow", "net.W", np.bool_),
                                              ("seq", "net.out.Wya", np.int64)])
def test_weights_of_an_integer_dtype(files, folder, kind, array, dtype):
    path = _edit_arrays(files[kind], folder / f"int-{kind}.npz", _set(lambda a: array, lambda v: v.astype(dtype)))
    assert_error(*run(["predict", path], input="good film\n"), mentions=[path.name])


def test_vocabulary_longer_than_the_embedding(files, folder):
    def grow(a):
        from seqcli.persist import pack_strings, unpack_strings

        tokens = unpack_strings(a["vocab_utf8"], a["vocab_lengths"]) + [f"extra{i}" for i in range(50)]
        a["vocab_utf8"], a["vocab_lengths"] = pack_strings(tokens)
    path = _edit_arrays(files["seq"], folder / "vocab.npz", grow)
    text = " ".join(f"extra{i}" for i in range(50))
    assert_error(*run(["predict", path], input=text + "\n"), mentions=[path.name])


# ------------------------------------------------------------------------------ nothing lost

_SAVER = """
import sys, numpy as np
from seqcli import persist
target, n = sys.argv[1], int(sys.argv[2])
versions = [{"w": np.full(n, float(v), dtype=np.float32), "b": np.arange(n, dtype=np.int64) + v}
            for v in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    persist.save_model(target, "bow", {"version": i % 2 + 1}, versions[i % 2])
    i += 1
"""


def _digest(path):
    from seqcli import persist

    header, arrays = persist.load_model(path)
    return header["version"], float(arrays["w"][0]), int(arrays["b"][0])


def test_sigkill_during_a_save_leaves_the_old_or_the_new_file_whole(tmp_path):
    """A process saves a 24 MB model over and over (two versions in turn) and is killed at random
    moments; the target always loads, and is one version or the other, never a mixture."""
    from seqcli import persist

    target = tmp_path / "model.npz"
    n = 2_000_000  # 8 MB float32 + 16 MB int64
    persist.save_model(target, "bow", {"version": 1}, {"w": np.full(n, 1.0, np.float32),
                                                       "b": np.arange(n, dtype=np.int64) + 1})
    rng = random.Random(7)
    seen = set()
    for _ in range(4):
        p = subprocess.Popen([sys.executable, "-c", _SAVER, str(target), str(n)], stdout=subprocess.PIPE,
                             env=_env())
        assert p.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.05, 0.8))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        p.stdout.close()
        version = _digest(target)
        assert version in {(1, 1.0, 1), (2, 2.0, 2)}, version
        seen.add(version[0])
    leftovers = [f.name for f in tmp_path.iterdir() if f.name != "model.npz"]
    assert all(name.startswith(".seqcli-") and name.endswith(".tmp") for name in leftovers), leftovers


def test_sigkill_during_training_keeps_a_loadable_model(files, tmp_path):
    """``seqcli train -o M`` over an existing M, killed while it writes best checkpoints."""
    target = tmp_path / "model.npz"
    target.write_bytes(files["seq"].read_bytes())
    old = hashlib.sha256(target.read_bytes()).hexdigest()
    data = tmp_path / "data.csv"
    data.write_text(csv_text(separable_rows(400)), encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "seqcli", "train", str(data), "-o", str(target), "-m", "lstm",
                          "--hidden", "96", "--embed", "64", "--epochs", "200", "--batch-size", "8",
                          "--patience", "1000", "-q"], stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 60
    while (hashlib.sha256(target.read_bytes()).hexdigest() == old and p.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.05)  # wait for the first save of the new model, then kill soon after
    time.sleep(random.Random(3).uniform(0.0, 0.5))
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    p.stderr.close()
    rc, out, err = run(["predict", target], input="good film\nawful film\n")
    assert rc == 0 and len(out.splitlines()) == 2, err


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only); skipped where it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is None or proc.returncode != 0:
        pytest.skip("cannot mount a tiny tmpfs here (needs root): full-disk tests skipped")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=10)


def test_full_disk_keeps_the_old_model(files, tiny_disk):
    target = tiny_disk / "model.npz"
    target.write_bytes(files["bow"].read_bytes())
    before = target.read_bytes()
    # an LSTM with 64 units is ~130 KB: it cannot fit in 64 KiB
    rc, out, err = run(["train", files["csv"], "-o", target, "-m", "lstm", "--hidden", "64", "--embed", "64",
                        "--epochs", "1", "-q"])
    assert_error(rc, out, err, mentions=["model.npz", "No space left on device", "untouched"])
    assert target.read_bytes() == before
    assert sorted(f.name for f in tiny_disk.iterdir()) == ["model.npz"]  # no temporary file left


def test_full_disk_keeps_old_vectorizer_and_vectors(files, tiny_disk):
    saved, vectors = tiny_disk / "vec.npz", tiny_disk / "x.npz"
    saved.write_bytes(files["vectorizer"].read_bytes())
    vectors.write_bytes(b"old vectors")
    # 2**18 hashed columns: df and idf arrays of 2 MB
    assert_error(*run(["vectorize", "--hash-bits", "18", "--mode", "tfidf", "--save", saved, "--vocab"],
                      input="good film\n"), mentions=["vec.npz", "No space left"])
    text = "".join(f"w{i} w{i + 1} w{i * 7}\n" for i in range(20000))
    assert_error(*run(["vectorize", "--format", "npz", "-o", vectors], input=text),
                 mentions=["x.npz", "No space left", "untouched"])
    assert saved.read_bytes() == files["vectorizer"].read_bytes()
    assert vectors.read_bytes() == b"old vectors"
    assert sorted(f.name for f in tiny_disk.iterdir()) == ["vec.npz", "x.npz"]


def test_full_disk_text_vectors(tiny_disk):
    out = tiny_disk / "v.jsonl"
    out.write_text("old\n")
    text = "".join(f"w{i} w{i + 1}\n" for i in range(20000))
    assert_error(*run(["vectorize", "-o", out], input=text), mentions=["v.jsonl", "No space left"])
    assert out.read_text() == "old\n"


def test_a_device_is_never_replaced_by_a_model(files):
    """As root, renaming a temporary file over /dev/full would replace the device node."""
    for args in (["train", files["csv"], "-o", "/dev/full", "--epochs", "1", "-q"],
                 ["vectorize", "--save", "/dev/full", "--vocab"]):
        assert_error(*run(args, input="good film\n"), mentions=["/dev/full", "not a regular file"])
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and not os.path.exists("/dev/full.npz")


def test_npz_vectors_into_a_full_device(files):
    assert_error(*run(["vectorize", "--format", "npz", "-o", "/dev/full"], input="good film\n"),
                 mentions=["/dev/full", "No space left"])
    assert not os.path.exists("/dev/full.npz")


@pytest.mark.parametrize("command", ["predict", "vectorize", "train"])
def test_stdout_on_a_full_disk(files, command):
    args = {"predict": ["predict", files["bow"]], "vectorize": ["vectorize"],
            "train": ["train", files["csv"], "-o", files["csv"].parent / "full.npz", "--epochs", "1", "-q",
                      "--json"]}[command]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "seqcli", *map(str, args)], input=b"good film\n" * 5000,
                              stdout=full, stderr=subprocess.PIPE, env=_env(), timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "internal error" not in err and "Traceback" not in err, err
    assert err.count("\n") == 1 and "No space left" in err
