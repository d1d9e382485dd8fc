"""Model files (persist.py): round trip, atomic write, reproducible bytes, hostile files refused."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from seqcli import persist
from seqcli.errors import SeqcliError


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "net.W": rng.standard_normal((3, 5)).astype(np.float32),
        "net.b": np.zeros((3, 1), dtype=np.float64),
        "vec.df": np.arange(5, dtype=np.int64),
        "vocab": np.array(["a", "bb", "ccc é"]),
        "scalar": np.array(7, dtype=np.int32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


HEADER = {"config": {"mode": "tfidf", "ngram_max": 2}, "classes": ["neg", "pos"], "note": "héllo"}


def leftovers(folder):
    """Files in ``folder`` that look like temporary files of an interrupted write."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_round_trip_keeps_arrays_and_header(tmp_path):
    path = tmp_path / "m.npz"
    arrays = sample_arrays()
    persist.save_model(path, "bow", HEADER, arrays)
    header, loaded = persist.load_model(path, {"bow"})
    assert set(loaded) == set(arrays)
    for name, arr in arrays.items():
        assert loaded[name].dtype == arr.dtype, name
        assert loaded[name].shape == arr.shape, name
        np.testing.assert_array_equal(loaded[name], arr)
    for key, value in HEADER.items():
        assert header[key] == value
    assert header["kind"] == "bow"
    assert header["format"] == "seqcli"
    assert header["format_version"] == persist.FORMAT_VERSION
    assert isinstance(header["seqcli_version"], str)
    assert leftovers(tmp_path) == []


def test_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    path = tmp_path / "m.npz"
    persist.save_model(path, "bow", HEADER, sample_arrays())
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == set(sample_arrays()) | {"__header__"}
        assert json.loads(str(z["__header__"][()]))["classes"] == ["neg", "pos"]


def test_same_content_gives_same_bytes(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    persist.save_model(a, "bow", HEADER, sample_arrays())
    os.utime(tmp_path, (0, 0))  # a different moment must not change the bytes
    arrays = dict(reversed(list(sample_arrays().items())))  # nor the order of the dict
    persist.save_model(b, "bow", dict(reversed(list(HEADER.items()))), arrays)
    assert a.read_bytes() == b.read_bytes()


def test_different_content_gives_different_bytes(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    arrays = sample_arrays()
    persist.save_model(a, "bow", HEADER, arrays)
    arrays["net.W"] = arrays["net.W"] + 1
    persist.save_model(b, "bow", HEADER, arrays)
    assert a.read_bytes() != b.read_bytes()


def test_overwrite_replaces_the_old_file(tmp_path):
    path = tmp_path / "m.npz"
    persist.save_model(path, "bow", HEADER, sample_arrays())
    persist.save_model(path, "bow", {"classes": ["x", "y"]}, {"w": np.ones(2)})
    header, arrays = persist.load_model(path)
    assert header["classes"] == ["x", "y"] and set(arrays) == {"w"}
    assert leftovers(tmp_path) == []


def test_failed_write_mid_array_keeps_the_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    persist.save_model(path, "bow", HEADER, sample_arrays())
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a few members are already in the temporary file
            fp.write(b"partial")
            raise OSError(28, "No space left on device")
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(SeqcliError) as info:
        persist.save_model(path, "bow", {"classes": ["new"]}, sample_arrays())
    assert len(calls) == 3
    assert "m.npz" in info.value.message and "\n" not in info.value.message
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_unexpected_exception_mid_write_keeps_the_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    persist.save_model(path, "bow", HEADER, sample_arrays())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        persist.save_model(path, "bow", HEADER, sample_arrays())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_write_into_a_missing_folder_is_one_line_error(tmp_path):
    path = tmp_path / "missing" / "m.npz"
    with pytest.raises(SeqcliError) as info:
        persist.save_model(path, "bow", HEADER, sample_arrays())
    assert "m.npz" in info.value.message and "\n" not in info.value.message
    assert info.value.exit_code == 1
    assert not (tmp_path / "missing").exists()


def test_write_onto_a_directory_is_one_line_error(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    with pytest.raises(SeqcliError) as info:
        persist.save_model(folder, "bow", HEADER, sample_arrays())
    assert "directory" in info.value.message
    assert list(folder.iterdir()) == []
    assert leftovers(tmp_path) == []


def test_load_a_directory_or_missing_file_is_one_line_error(tmp_path):
    for path, word in ((tmp_path, "directory"), (tmp_path / "nope.npz", "nope.npz")):
        with pytest.raises(SeqcliError) as info:
            persist.load_model(path)
        assert word in info.value.message and "\n" not in info.value.message


def test_object_arrays_are_refused_at_save(tmp_path):
    path = tmp_path / "m.npz"
    arrays = sample_arrays()
    arrays["evil"] = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises((TypeError, SeqcliError)):
        persist.save_model(path, "bow", HEADER, arrays)
    assert list(tmp_path.iterdir()) == []


def test_non_array_values_are_refused_at_save(tmp_path):
    with pytest.raises((TypeError, SeqcliError)):
        persist.save_model(tmp_path / "m.npz", "bow", HEADER, {"w": [1.0, 2.0]})
    assert list(tmp_path.iterdir()) == []


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_object_arrays_are_refused_at_load_without_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "evil.npz"
    header = json.dumps({"format": "seqcli", "format_version": 1, "kind": "bow"})
    np.savez(path, __header__=np.array(header), W=np.array([_Boom()], dtype=object))
    import pickle

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load_model unpickled something")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "evil.npz" in info.value.message


def test_header_must_be_a_seqcli_header(tmp_path):
    cases = {
        "nohdr.npz": dict(W=np.zeros(2)),
        "badjson.npz": dict(__header__=np.array("{not json")),
        "notag.npz": dict(__header__=np.array(json.dumps({"format_version": 1, "kind": "bow"}))),
        "nokind.npz": dict(__header__=np.array(json.dumps({"format": "seqcli", "format_version": 1}))),
        "noversion.npz": dict(__header__=np.array(json.dumps({"format": "seqcli", "kind": "bow"}))),
    }
    for name, members in cases.items():
        np.savez(tmp_path / name, **members)
        with pytest.raises(SeqcliError) as info:
            persist.load_model(tmp_path / name)
        assert name in info.value.message, name


def test_newer_format_version_says_upgrade(tmp_path):
    path = tmp_path / "m.npz"
    header = {"format": "seqcli", "format_version": persist.FORMAT_VERSION + 998,
              "seqcli_version": "99.0", "kind": "bow"}
    np.savez(path, __header__=np.array(json.dumps(header)), W=np.zeros(2))
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "newer" in info.value.message and "m.npz" in info.value.message


def test_wrong_kind_names_both_kinds(tmp_path):
    path = tmp_path / "v.npz"
    persist.save_model(path, "vectorizer", {}, {"df": np.zeros(3, dtype=np.int64)})
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path, {"bow"})
    assert "vectorizer" in info.value.message and "bag-of-words" in info.value.message


def test_damaged_files_are_one_line_errors(tmp_path):
    good = tmp_path / "good.npz"
    persist.save_model(good, "bow", HEADER, sample_arrays())
    data = good.read_bytes()
    damaged = {
        "empty.npz": b"",
        "half.npz": data[: len(data) // 2],
        "random.npz": np.random.default_rng(1).bytes(3000),
        "flipped.npz": data[:200] + bytes(b ^ 0xFF for b in data[200:260]) + data[260:],
    }
    for name, raw in damaged.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(SeqcliError) as info:
            persist.load_model(tmp_path / name)
        assert name in info.value.message and "\n" not in info.value.message, name


def _bomb_zip(path, members, header=True):
    """A deflated zip of ``members`` (name -> size in bytes): valid .npy files of float64 zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        if header:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.array(json.dumps(
                {"format": "seqcli", "format_version": 1, "kind": "bow"})))
            zf.writestr("__header__.npy", buf.getvalue())
        for name, size in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                # a valid .npy header, so a reader that trusts the member decompresses it all
                head = io.BytesIO()
                n = (size - 128) // 8
                np.lib.format.write_array_header_1_0(
                    head, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
                out.write(head.getvalue())
                left = n * 8
                chunk = bytes(1 << 20)
                while left > 0:
                    out.write(chunk[:left])
                    left -= len(chunk)


@pytest.fixture
def no_decompression(monkeypatch):
    """Fail the test if load_model starts reading array data."""

    def refuse(*args, **kwargs):
        raise AssertionError("load_model decompressed a member of a zip bomb")

    monkeypatch.setattr(np.lib.format, "read_array", refuse)


def test_zip_bomb_member_is_refused_before_decompressing(tmp_path, no_decompression):
    path = tmp_path / "bomb.npz"
    _bomb_zip(path, {"W.npy": 64 << 20})  # 64 MiB of zeros in ~64 KiB
    assert path.stat().st_size < (1 << 20)
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "bomb.npz" in info.value.message


def test_many_small_compressible_members_are_refused_before_decompressing(tmp_path, no_decompression):
    # Each member is 1 MiB (under the per-member size where the ratio check starts), together
    # they expand about 1000x: the total expansion must be bounded too.
    path = tmp_path / "bombs.npz"
    _bomb_zip(path, {f"m{i}.npy": 1 << 20 for i in range(64)})
    assert path.stat().st_size < (1 << 20)
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "bombs.npz" in info.value.message


def _declare_size(path, member, size):
    """Patch the central directory so ``member`` declares ``size`` uncompressed bytes (32-bit field)."""
    raw = bytearray(path.read_bytes())
    start, found = 0, False
    while (at := raw.find(b"PK\x01\x02", start)) >= 0:
        name_len = int.from_bytes(raw[at + 28: at + 30], "little")
        if raw[at + 46: at + 46 + name_len] == member.encode():
            raw[at + 24: at + 28] = size.to_bytes(4, "little")
            found = True
        start = at + 4
    assert found
    path.write_bytes(bytes(raw))


def test_members_declaring_absurd_sizes_are_refused(tmp_path, no_decompression):
    path = tmp_path / "huge.npz"
    persist.save_model(path, "bow", HEADER, {"W": np.zeros(4, dtype=np.float32),
                                             "V": np.zeros(4, dtype=np.float32)})
    _declare_size(path, "W.npy", 0xF0000000)  # 3.75 GiB each, 7.5 GiB together
    _declare_size(path, "V.npy", 0xF0000000)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("W.npy").file_size == 0xF0000000
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "huge.npz" in info.value.message


def test_unexpected_member_is_refused(tmp_path):
    path = tmp_path / "extra.npz"
    persist.save_model(path, "bow", HEADER, {"W": np.zeros(2)})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("run.sh", "rm -rf /")
    with pytest.raises(SeqcliError) as info:
        persist.load_model(path)
    assert "extra.npz" in info.value.message


def test_strings_are_stored_as_deflated_utf8_and_numbers_as_they_are(tmp_path):
    import zipfile

    from seqcli.persist import pack_strings, unpack_strings

    words = ["the", "café", "", "naïve ümlaut", "\x00nul", "\udcff lone"]
    utf8, lengths = pack_strings(words)
    assert utf8.dtype == np.uint8 and lengths.dtype == np.uint32 and len(utf8) == lengths.sum()
    assert unpack_strings(utf8, lengths) == words
    path = tmp_path / "m.npz"
    persist.save_model(path, "bow", {}, {"vocab_utf8": np.frombuffer(b"ab" * 5000, np.uint8).copy(),
                                 "W": np.zeros(5000, np.float32)})
    with zipfile.ZipFile(path) as zf:
        kinds = {i.filename: i.compress_type for i in zf.infolist()}
    assert kinds == {"vocab_utf8.npy": zipfile.ZIP_DEFLATED, "W.npy": zipfile.ZIP_STORED,
                     "__header__.npy": zipfile.ZIP_DEFLATED}
    with pytest.raises(ValueError, match="add up"):
        unpack_strings(utf8[:-1], lengths)
