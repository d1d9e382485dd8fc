"""Model files: parameters plus one JSON header in a single .npz, never pickled, written atomically.

Layout of a file: a zip archive (the ``.npz`` format) whose members are ``.npy`` arrays of plain
numeric or unicode dtype, plus ``__header__.npy``, a 0-d unicode array holding the JSON header::

    {"format": "seqcli", "format_version": 1, "seqcli_version": "...", "kind": "bow" | ..., ...}

Why our own writer instead of ``np.savez``: numpy stamps each zip member with the current time, so
two trainings with the same seed would give different bytes; here every member carries a fixed
timestamp and members are written in sorted order, so the same model gives the same file.
Why our own reader checks: a model file may come from a stranger; loading uses
``allow_pickle=False`` (an object array is refused, never unpickled) and refuses members whose
declared size is absurd (a zip bomb) before decompressing anything.
"""

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from seqcli import __version__
from seqcli.errors import SeqcliError

FORMAT_VERSION = 1
HEADER_KEY = "__header__"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_MAX_MEMBER_BYTES = 4 << 30  # no real seqcli model has a 4 GiB array
_MAX_RATIO = 200  # stored members have ratio 1; deflated float arrays compress ~1.1x
_ARRAY_KINDS = "biufU"  # bool, integers, floats, unicode; never complex, bytes, structured, dates


def save_model(path, kind, header, arrays):
    """Write ``arrays`` (name -> ndarray) and ``header`` (JSON-serialisable dict) to ``path``.

    The file is written to a temporary file in the same folder, flushed to disk and renamed over
    ``path``, so a crash or a full disk never leaves a half-written model where the old one was.
    """
    full_header = {"format": "seqcli", "format_version": FORMAT_VERSION,
                   "seqcli_version": __version__, "kind": kind, **header}
    members = dict(arrays)
    members[HEADER_KEY] = np.array(json.dumps(full_header, sort_keys=True, ensure_ascii=False))
    for name, arr in members.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
            raise TypeError(f"array {name!r} must be a numeric or string ndarray, not {type(arr)}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise SeqcliError(f"{path}: is a directory; give a file name for the model")
    if os.path.exists(path) and not os.path.isfile(path):
        # the rename below would replace a device or a pipe (as root: /dev/full itself) by the model
        raise SeqcliError(f"{path}: is not a regular file (a device, pipe or socket); "
                          "give a file name for the model")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".seqcli-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise SeqcliError(f"{path}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
                for name in sorted(members):
                    info = zipfile.ZipInfo(name + ".npy", date_time=_FIXED_DATE)
                    info.compress_type = _compression(members[name])
                    info.external_attr = 0o644 << 16
                    with zf.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.array(members[name], order="C", copy=None),
                                                  allow_pickle=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise SeqcliError(f"{path}: cannot write the model file ({exc.strerror or exc}); "
                          "any previous file there is untouched") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _compression(arr):
    """Deflate text (UTF-8 bytes, the JSON header: 2-5x smaller), store numbers as they are (weights do
    not compress, and a zero-heavy array would deflate a thousandfold and pass for a zip bomb)."""
    return zipfile.ZIP_DEFLATED if arr.dtype == np.uint8 or arr.dtype.kind == "U" else zipfile.ZIP_STORED


def file_mode():
    """rw for everyone the umask allows, as open() would give (mkstemp makes files 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # the temporary file is already gone; nothing else to clean


def load_model(path, kinds=None):
    """Read a model file; return ``(header, arrays)``.

    ``kinds``: the model kinds acceptable here (e.g. ``{"bow", "seq"}``); another kind is a
    one-line error naming the file. Every problem (missing, damaged, hostile, newer format)
    raises SeqcliError naming the file and what is wrong.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise SeqcliError(f"{path}: is a directory, not a model file")
    if not os.path.exists(path):
        raise SeqcliError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_sizes(path, infos)
            arrays = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise SeqcliError(f"{path}: not a seqcli model file (unexpected member {info.filename!r})")
                with zf.open(info) as member:
                    arrays[info.filename[:-4]] = np.lib.format.read_array(member, allow_pickle=False)
    except SeqcliError:
        raise
    except zipfile.BadZipFile:
        raise SeqcliError(f"{path}: not a seqcli model file (not a valid .npz archive; truncated or damaged?)") from None
    except ValueError as exc:
        # numpy refuses object arrays without unpickling them, and reports bad .npy headers here
        raise SeqcliError(f"{path}: damaged or unsafe model file ({_one_line(exc)})") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError, zlib.error) as exc:
        raise SeqcliError(f"{path}: cannot read the model file ({_one_line(exc)})") from None
    header = _parse_header(path, arrays.pop(HEADER_KEY, None))
    kind = header.get("kind")
    if kinds is not None and kind not in kinds:
        raise SeqcliError(f"{path}: is {_article(describe_kind(kind))}, but {_needed(kinds)} is needed here")
    for name, arr in arrays.items():
        if arr.dtype.hasobject:
            raise SeqcliError(f"{path}: array {name!r} has object dtype; refused")
        if arr.dtype.kind not in _ARRAY_KINDS:
            raise SeqcliError(f"{path}: damaged model file (array {name!r} has dtype {arr.dtype}, "
                              "which no seqcli model uses)")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise SeqcliError(f"{path}: damaged model file (array {name!r} holds NaN or infinite values)")
    return header, arrays


def pack_strings(strings):
    """Strings as a file stores them: UTF-8 bytes, (total,) uint8, and each string's length in bytes,
    (n,) uint32 (a unicode array costs 4 bytes a character, padded to the longest string)."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    lengths = np.fromiter(map(len, encoded), dtype=np.uint32, count=len(encoded))
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), lengths


def unpack_strings(utf8, lengths, what="strings"):
    """The strings ``pack_strings`` stored; ValueError naming ``what`` when the two arrays disagree."""
    if utf8.dtype != np.uint8 or utf8.ndim != 1 or lengths.dtype.kind != "u" or lengths.ndim != 1:
        raise ValueError(f"{what} are not stored as UTF-8 bytes and lengths")
    ends = np.cumsum(lengths, dtype=np.int64)
    if (ends[-1] if len(ends) else 0) != len(utf8):
        raise ValueError(f"{what}: the lengths add up to {int(ends[-1]) if len(ends) else 0} bytes, the text "
                         f"has {len(utf8)}")
    data, starts = utf8.tobytes(), ends - lengths
    try:
        return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts.tolist(), ends.tolist())]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} are not valid UTF-8 ({exc.reason})") from None


def peek_kind(path):
    """The kind of the seqcli file at ``path`` (reading only its header), or None when it is not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(HEADER_KEY + ".npy")
            if info.file_size > _MAX_MEMBER_BYTES:
                return None
            with zf.open(info) as member:
                raw = np.lib.format.read_array(member, allow_pickle=False)
        header = json.loads(str(raw[()]))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError, RuntimeError):
        return None
    if not isinstance(header, dict) or header.get("format") != "seqcli":
        return None
    kind = header.get("kind")
    return kind if isinstance(kind, str) else None


def _check_sizes(path, infos):
    total = packed = 0
    for info in infos:
        total += info.file_size
        packed += info.compress_size
        if info.file_size > _MAX_MEMBER_BYTES or total > _MAX_MEMBER_BYTES:
            raise SeqcliError(f"{path}: refused: member {info.filename!r} declares {info.file_size} bytes (too large for a model)")
        if info.compress_size and info.file_size / info.compress_size > _MAX_RATIO and info.file_size > (1 << 20):
            raise SeqcliError(f"{path}: refused: member {info.filename!r} expands {info.file_size // info.compress_size}x (zip bomb?)")
    if total > (1 << 20) and total > _MAX_RATIO * max(packed, 1):
        raise SeqcliError(f"{path}: refused: its members expand {total // max(packed, 1)}x in all (zip bomb?)")


def _parse_header(path, raw):
    if raw is None:
        raise SeqcliError(f"{path}: not a seqcli model file (no header)")
    try:
        header = json.loads(str(raw[()]) if raw.shape == () else "")
    except (ValueError, TypeError, IndexError):
        raise SeqcliError(f"{path}: damaged model file (header is not valid JSON)") from None
    if not isinstance(header, dict) or header.get("format") != "seqcli":
        raise SeqcliError(f"{path}: not a seqcli model file (header has no seqcli format tag)")
    version = header.get("format_version")
    if not isinstance(version, int):
        raise SeqcliError(f"{path}: damaged model file (format_version missing)")
    if version > FORMAT_VERSION:
        raise SeqcliError(f"{path}: made by a newer seqcli ({header.get('seqcli_version', '?')}, model format {version}); "
                          f"this is seqcli {__version__} (format {FORMAT_VERSION}): upgrade seqcli")
    if not isinstance(header.get("kind"), str):
        raise SeqcliError(f"{path}: damaged model file (model kind missing)")
    return header


_KIND_NAMES = {"bow": "bag-of-words classifier", "seq": "recurrent classifier",
               "lm": "character language model", "tagger": "sequence tagger", "vectorizer": "vectorizer",
               "checkpoint": "training checkpoint", "seq2seq": "sequence-to-sequence model"}


def _needed(kinds):
    """'a bag-of-words classifier', 'a classifier', 'a language model or a classifier', 'a model' (every
    kind of fitted model), ... for messages."""
    if set(kinds) >= _KIND_NAMES.keys() - _NOT_MODELS:
        return "a model"
    names = sorted({_GROUPS.get(k, describe_kind(k)) if len(kinds) > 1 else describe_kind(k) for k in kinds})
    return " or ".join(_article(n) for n in names)


_NOT_MODELS = {"vectorizer", "checkpoint"}


_GROUPS = {"bow": "classifier", "seq": "classifier"}   # several kinds a message names as one


def describe_kind(kind):
    """Human name of a model kind for messages."""
    return _KIND_NAMES.get(kind, f"model of unknown kind {kind!r}")


def _article(noun):
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def require(path, condition, what):
    """Raise a one-line SeqcliError naming ``path`` unless ``condition`` holds (header/array checks)."""
    if not condition:
        raise SeqcliError(f"{path}: damaged model file ({what})")


def check_output(path, inputs=(), force=False, what="model", option="-o"):
    """Fail before any work when a seqcli file could not be written to ``path``, would replace one of
    the ``inputs`` (the training data), or would replace a file that is not a seqcli file (an unrelated
    file of the same name) unless ``force``. A seqcli model there is replaced: that is retraining."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise SeqcliError(f"{path}: is a directory; give a file name for the {what} ({option})")
    if os.path.exists(path) and not os.path.isfile(path):
        raise SeqcliError(f"{path}: not a regular file; give a file name for the {what} ({option})")
    for source in inputs:
        if source not in (None, "-") and os.path.exists(path) and os.path.exists(source) \
                and os.path.samefile(path, source):
            raise SeqcliError(f"{path}: is the training data; give another file name for the {what} ({option})")
    if not os.path.isdir(folder):
        raise SeqcliError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SeqcliError(f"{path}: folder {folder} is not writable")
    if os.path.isfile(path) and not force and os.path.getsize(path) and peek_kind(path) is None:
        raise SeqcliError(f"{path}: exists and is not a seqcli file; give another name, or --force to "
                          "replace it")
