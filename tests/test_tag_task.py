"""seqcli train --task tag and seqcli predict TAGGER, end to end: the formats, the report, the model file,
the predict line contract, CoNLL in -> the same CoNLL out, --explain, resume and the errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import _env, run_seqcli
from seqcli.data.conll import read_tagged
from seqcli.models.tagger import tokenize

TINY = ["--hidden", "8", "--embed", "8", "--char-embed", "4", "--char-hidden", "4", "--batch-size", "4"]

# a tiny language whose tags follow from the words and their endings: unseen stems keep their tags
DET, ADJ, NOUN, VERB = ["the", "a", "The", "A"], ["red", "big", "tiny"], ["cats", "dogs", "birds"], ["ran", "sat"]
STEMS = ["walk", "jump", "sing", "talk", "cook", "paint", "climb", "dream"]


def sentences(n, seed=0, stems=STEMS):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [(DET[rng.integers(4)], "DET"), (ADJ[rng.integers(3)], "ADJ"), (NOUN[rng.integers(3)], "NOUN")]
        stem = stems[rng.integers(len(stems))]
        words.append((stem + "ed", "VERB") if rng.random() < 0.5 else (VERB[rng.integers(2)], "VERB"))
        words += [(stem + "ing", "NOUN"), (".", "PUNCT")]
        out.append(words)
    return out


def conllu(rows, bad_at=None):
    lines = []
    for k, row in enumerate(rows):
        lines += [f"# sent_id = {k + 1}", f"# text = {' '.join(w for w, _ in row)}"]
        for i, (w, t) in enumerate(row):
            lines.append(f"{i + 1}\t{w}\t{w.lower()}\t{t}\t_\t_\t0\tdep\t_\t_")
        if k == bad_at:
            lines.append("7\tbroken")
        lines.append("")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tagger trained once on tiny CoNLL-U data (a bad sentence in the training file, --val dev)."""
    folder = tmp_path_factory.mktemp("tag")
    train, dev = folder / "train.conllu", folder / "dev.conllu"
    train.write_text(conllu(sentences(60), bad_at=3), encoding="utf-8")
    dev.write_text(conllu(sentences(12, seed=1, stems=["hop", "bake", "wish"])), encoding="utf-8")
    model = folder / "tagger.npz"
    rc, out, err = run_seqcli(["train", train, "--task", "tag", "--val", dev, "-o", model, "--epochs", "12",
                               "--lr", "0.02", *TINY, "--json"])
    return folder, model, rc, out, err


def test_training_reads_conllu_reports_skips_and_the_figures(trained):
    folder, model, rc, out, err = trained
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["task"] == "tag" and summary["model"] == "lstm"
    assert (summary["n_train"], summary["n_val"], summary["skipped_sentences"]) == (59, 12, 1)
    assert "skipped 1 of 60 sentences (2 columns, expected 10: line" in err
    m = summary["metrics"]
    assert m["tokens"] == 72 and m["accuracy"] > 0.9          # learnt: tags follow from words and endings
    assert m["unseen"]["tokens"] >= 12 and m["unseen"]["accuracy"] >= 0.75   # "hopped", "hoping": new stems
    assert {r["tag"] for r in m["per_tag"]} >= {"DET", "ADJ", "NOUN", "VERB", "PUNCT"}
    assert m["scheme"] is None and m["spans"] is None                # part-of-speech tags: no spans
    assert "token accuracy" in err and "unseen words" in err and "val_unseen" in err
    with np.load(model, allow_pickle=False) as z:
        assert json.loads(str(z["__header__"][()]))["kind"] == "tagger"


def test_the_same_seed_gives_the_same_model_file(tmp_path):
    data = tmp_path / "d.conllu"
    data.write_text(conllu(sentences(20)), encoding="utf-8")
    files = []
    for name in ("a.npz", "b.npz"):
        assert run_seqcli(["train", data, "--task", "tag", "-o", tmp_path / name, "--epochs", "2", *TINY, "-q"])[0] == 0
        files.append((tmp_path / name).read_bytes())
    assert files[0] == files[1]


def test_conll_ner_columns_give_span_scores_and_csv_and_stdin_are_read(tmp_path):
    rows = [[("John", "B-PER"), ("Smith", "I-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
            [("Mary", "B-PER"), ("left", "O"), ("Rome", "B-LOC")]] * 8
    text = "-DOCSTART- -X- O O\n\n" + "\n".join("\n".join(f"{w} NNP {t}" for w, t in r) + "\n" for r in rows)
    data = tmp_path / "ner.conll"
    data.write_text(text, encoding="utf-8")
    rc, out, err = run_seqcli(["train", data, "--task", "tag", "-o", tmp_path / "n.npz", "--epochs", "2",
                               "--val-split", "0.25", *TINY, "--crf", "--json"])
    assert rc == 0, err
    assert "val_f1" in err and "spans (BIO, as conlleval): precision" in err
    summary = json.loads(out)
    assert summary["metrics"]["scheme"] == "BIO" and "f1" in summary["metrics"]["spans"]
    assert (summary["n_train"], summary["n_val"]) == (12, 4)
    source = tmp_path / "in.conll"      # CoNLL out: the last column replaced, or added to token-only lines
    source.write_text("-DOCSTART- -X- O O\n\nJohn NNP O\nleft NN O\n\nRome\nsmiled\n", encoding="utf-8")
    rc, out, err = run_seqcli(["predict", tmp_path / "n.npz", source])
    assert rc == 0, err
    lines = out.split("\n")
    assert lines[:2] == ["-DOCSTART- -X- O O", ""] and lines[4] == "" and len(lines) == 8
    assert [len(line.split()) for line in lines[2:4] + lines[5:7]] == [3, 3, 2, 2]
    assert lines[2].startswith("John NNP ") and lines[5].startswith("Rome ")
    csv = "tokens,tags\n" + "".join(f"{' '.join(w for w, _ in r)},{' '.join(t for _, t in r)}\n" for r in rows)
    rc, out, err = run_seqcli(["train", "-", "--task", "tag", "--format", "csv", "-o", tmp_path / "c.npz",
                               "--epochs", "1", *TINY, "--json", "-q"], input=csv)
    assert rc == 0, err
    assert json.loads(out)["data"] == {"format": "csv", "tag_col": "tags"}


@pytest.mark.parametrize("args,message,code", [
    (["--tag-col", "xpos"], "--tag-col only goes with --task tag", 2),
    (["--task", "tag", "--label-col", "x"], "a tagger's tags come from --tag-col", 2),
    (["--task", "tag", "--model", "bow"], "--task tag needs a sequence model", 2),
    (["--crf"], "--crf does not apply to --task classify", 2),
    (["--task", "tag", "--tag-col", "lemmas"], "no CoNLL-U column 'lemmas'", 1),
    (["--task", "tag", "--ngrams", "1:2"], "--ngrams does not apply to --task tag", 2),
])
def test_bad_options_are_one_line(tmp_path, args, message, code):
    data = tmp_path / "d.conllu"
    data.write_text(conllu(sentences(4)), encoding="utf-8")
    rc, out, err = run_seqcli(["train", data, *args, "-o", tmp_path / "m.npz"])
    assert rc == code and out == "" and message in err, err
    assert not (tmp_path / "m.npz").exists()


def test_empty_and_unusable_files_are_one_line_errors(tmp_path):
    empty, bad = tmp_path / "e.conllu", tmp_path / "b.conllu"
    empty.write_text("", encoding="utf-8")
    bad.write_text("1\tword\n\n", encoding="utf-8")
    for path, message in ((empty, "empty file"), (bad, "no usable sentences")):
        rc, out, err = run_seqcli(["train", path, "--task", "tag", "-o", tmp_path / "m.npz"])
        assert rc == 1 and err.count("\n") == 1 and message in err, err


# ------------------------------------------------------------------------------------------ predict

def test_predict_plain_text_one_line_out_per_line_in(trained):
    _, model, rc, _, _ = trained
    assert rc == 0
    lines = "the big cats walked walking .\n\na tiny dog sat\n"
    rc, out, err = run_seqcli(["predict", model], input=lines)
    assert rc == 0, err
    got = out.split("\n")
    assert len(got) == 4 and got[1] == "" and got[3] == ""
    assert got[0].split() == ["the/DET", "big/ADJ", "cats/NOUN", "walked/VERB", "walking/NOUN", "./PUNCT"]
    assert [p.rsplit("/", 1)[0] for p in got[2].split()] == ["a", "tiny", "dog", "sat"]
    rc, out, _ = run_seqcli(["predict", model, "--json"], input=lines)
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3 and rows[1] == {"tokens": [], "tags": [], "probs": []}
    assert rows[0]["tags"][:3] == ["DET", "ADJ", "NOUN"] and all(0 < p <= 1 for p in rows[0]["probs"])
    rc, out, _ = run_seqcli(["predict", model, "--tokenize"], input="the big cats walked.\n")
    assert out.split() == ["the/DET", "big/ADJ", "cats/NOUN", "walked/VERB", "./PUNCT"]


def test_predict_answers_each_line_of_a_pipe_at_once(trained):
    _, model, _, _, _ = trained
    proc = subprocess.Popen([sys.executable, "-m", "seqcli", "predict", str(model)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), text=True, bufsize=1)
    try:
        for line in ("the red birds sat .", "a big dog ran"):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            assert len(proc.stdout.readline().split()) == len(line.split())   # before stdin is closed
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_conllu_in_gives_the_same_conllu_out_with_tags_filled(trained, tmp_path):
    folder, model, _, _, _ = trained
    source = tmp_path / "in.conllu"
    rows = sentences(5, seed=4)
    text = conllu(rows, bad_at=2).replace("\tDET\t", "\t_\t")
    source.write_text(text, encoding="utf-8")
    rc, out, err = run_seqcli(["predict", model, source])
    assert rc == 0
    assert "1 sentence with a bad line written back untagged (line" in err
    assert out.count("\n") == text.count("\n")
    for a, b in zip(text.splitlines(), out.splitlines()):
        fa, fb = a.split("\t"), b.split("\t")
        assert fa[:3] + fa[4:] == fb[:3] + fb[4:]                # only the tag column may change
    again = tmp_path / "out.conllu"
    again.write_text(out, encoding="utf-8")
    read = read_tagged(again)
    assert read.sentences == [[w for w, _ in r] for k, r in enumerate(rows) if k != 2]   # the same tokens
    assert len(read.skipped) == 1 and "\t_\t" in out.split("\n\n")[2]       # the bad one as it came
    assert read.tags[0][0] == "DET"                              # filled in where the input had "_"
    rc, out2, _ = run_seqcli(["predict", model, "-"], input=text)    # found by content on stdin
    assert out2 == out


def test_explain_draws_top_tags_and_gates(trained):
    _, model, _, _, _ = trained
    rc, out, err = run_seqcli(["predict", model, "--explain", "--no-color"], input="the big cats sat\n")
    assert rc == 0, err
    assert "the/DET big/ADJ cats/NOUN sat/VERB" in out and "P(DET)" in out and "fw Γf" in out and "bw a" in out
    rc, out, _ = run_seqcli(["predict", model, "--explain", "--json", "--units", "top:2"], input="the cats\n")
    record = json.loads(out)
    assert record["tokens"] == ["the", "cats"] and record["tags"] == ["DET", "NOUN"]
    assert len(record["top_probs"]["DET"]) == 2 and len(record["gates"]["l0.fw.gu"]["units"]) == 2
    rc, out, _ = run_seqcli(["predict", model, "--explain", "--stats", "--json"], input="the cats\nthe dog ran\n")
    stats = json.loads(out)["saturation"]
    assert stats["n_texts"] == 2 and stats["n_steps"] == 5 and {r["direction"] for r in stats["rows"]} == {"fw", "bw"}


def test_predict_options_for_the_other_kind_are_usage_errors(trained, tiny_model):
    _, model, _, _, _ = trained
    assert run_seqcli(["predict", tiny_model, "--tokenize"], input="x\n")[0] == 2
    rc, _, err = run_seqcli(["predict", model, "--proba"], input="x\n")
    assert rc == 2 and "--proba" in err


def test_tokenizer():
    assert tokenize("I don't like U.S. politics, e.g. www.x.org!", words=True) == [
        "I", "do", "n't", "like", "U.S.", "politics", ",", "e.g.", "www.x.org", "!"]
    assert tokenize("it's 3.14 and 1,000 -- ok...", words=True) == ["it", "'s", "3.14", "and", "1,000", "-", "-",
                                                                     "ok", "..."]
    assert tokenize("  split\tat  whitespace ") == ["split", "at", "whitespace"]


# -------------------------------------------------------------------------------- resume, damage

def test_max_steps_then_resume_gives_the_same_tagger_file(tmp_path):
    data = tmp_path / "d.conllu"
    data.write_text(conllu(sentences(24)), encoding="utf-8")
    common = ["--task", "tag", "--epochs", "3", *TINY, "-q"]
    whole, halted = tmp_path / "whole.npz", tmp_path / "halted.npz"
    assert run_seqcli(["train", data, *common, "-o", whole])[0] == 0
    rc, _, err = run_seqcli(["train", data, *common, "-o", halted, "--max-steps", "7"])
    assert rc == 0 and "--task tag" in err and "--resume" in err
    rc, _, err = run_seqcli(["train", data, "-o", halted, "--resume", tmp_path / "halted.ckpt.npz", "-q"])
    assert rc == 0, err
    assert halted.read_bytes() == whole.read_bytes()


def test_a_damaged_tagger_file_is_one_line(trained, tmp_path):
    from seqcli import persist

    _, model, _, _, _ = trained
    header, arrays = persist.load_model(model)
    arrays["words"] = np.array("\n".join(str(arrays["words"][()]).split("\n")[:-1]))
    bad = tmp_path / "bad.npz"
    persist.save_model(bad, "tagger", {k: v for k, v in header.items() if k not in ("format", "format_version",
                                                                                      "seqcli_version", "kind")}, arrays)
    rc, out, err = run_seqcli(["predict", bad], input="the cats\n")
    assert rc == 1 and err.count("\n") == 1 and "damaged model file (vocabulary has" in err


def test_word_dropout_by_frequency_and_the_learning_rate_schedule():
    from seqcli.tasks.tag import make_job, unk_rates

    words = ["<pad>", "<unk>", "the", "cats", "hopped"]
    rates = unk_rates(words, [["The", "cats"], ["the", "hopped", "cats"]], lowercase=True, alpha=0.5)
    np.testing.assert_allclose(rates, [0, 0, 0.5 / 2.5, 0.5 / 2.5, 0.5 / 1.5])   # "The", "the": 2
    assert unk_rates(words, [], True, 0.0) is None
    rows = sentences(6)
    train = ([[w for w, _ in r] for r in rows], [[t for _, t in r] for r in rows])
    job = make_job("lstm", {"lr_decay": 0.5, "hidden": 4, "embed": 4}, train)
    assert job.param_scales(0) == dict.fromkeys(job.model.net.params, 1.0)
    assert set(job.param_scales(3).values()) == {0.125}
    assert make_job("lstm", {"lr_decay": 1.0, "hidden": 4, "embed": 4}, train).param_scales(5) == {}
    index = job.model.word_index
    assert job.unk_rate[:2].tolist() == [0, 0] and job.unk_rate[index["the"]] < job.unk_rate[index["tiny"]]


def test_a_bad_line_never_ends_the_stream(trained):
    _, model, _, _, _ = trained
    rc, out, err = run_seqcli(["predict", model], input=b"the cats\n\xff\xfe bad\x00\nthe dog ran\n")
    assert rc == 0 and len(out.split("\n")) == 4 and out.split("\n")[2].startswith("the/DET")
    assert "line 2" in err and err.count("\n") == 1
