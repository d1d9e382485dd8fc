"""``--task seq2seq`` end to end: reading pairs (columns by name, by position, given; empty sides, a
missing column, one row), the split of each side found from the data and stored, several targets as
several valid answers, the loop watching the WER with a decaying learning rate, a tiny reverse task
learned to 100%, resume, the model file, and predict's line contract with --beam / --nbest / --json /
--explain."""

import json
import random
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import run_seqcli
from threadpoolctl import threadpool_limits

from seqcli import api, models
from seqcli.errors import SeqcliError
from seqcli.tasks import seq2seq as task

TINY = {"hidden": 32, "embed": 16, "epochs": 2, "batch_size": 16, "dropout": 0.0}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(1, "blas"):
        yield


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def reverse_rows(n, seed=0, letters="abcd", longest=5):
    rng = random.Random(seed)
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, longest))) for _ in range(n)]
    return [(w, " ".join(reversed(w))) for w in words]


def pairs_csv(path, rows, header="source,target"):
    return write(path, header + "\n" + "".join(f"{s},{t}\n" for s, t in rows))


# ------------------------------------------------------------------------------------------ reading

@pytest.mark.parametrize("header,columns,expect", [
    ("source,target", None, ("source", "target")),
    ("output,input", None, ("input", "output")),            # found by name, in either order
    ("id,tgt,src", None, ("src", "tgt")),
    ("word,pronunciation", None, ("word", "pronunciation")),  # no known name: the first two columns
    ("a,b,c", {"source_col": "2", "target_col": "B"}, ("c", "b")),
])
def test_columns_are_found_by_name_by_position_or_given(tmp_path, header, columns, expect):
    path = write(tmp_path / "p.csv", f"{header}\n{header}\n")   # each value is its column's name
    sources, targets, _ = task.read_pairs(str(path), columns, lambda m: None)
    assert (sources[0], targets[0]) == expect


def test_rows_with_an_empty_side_are_skipped_and_reported(tmp_path):
    path = write(tmp_path / "p.csv", "source,target\nab,b a\n,x\ncd,\n  ef  , f e \n")
    notes = []
    sources, targets, _ = task.read_pairs(str(path), None, notes.append)
    assert sources == ["ab", "ef"] and targets == ["b a", "f e"]          # both sides stripped
    assert notes == ["skipped 2 of 4 rows (empty source: line 3; missing target: line 4)"]


@pytest.mark.parametrize("text,message", [
    ("source\nab\n", "no target column (CSV columns: source); name it target, output or tgt, or choose one "
                     "with --target-col"),
    ("source,target\n", "no data rows (only a header)"),
    ("source,target\n,\n", "no usable rows"),
])
def test_unusable_files_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(SeqcliError, match=message.replace("(", r"\(").replace(")", r"\)")):
        task.read_pairs(str(write(tmp_path / "p.csv", text)), None, lambda m: None)


def test_a_classifiers_columns_are_refused():
    with pytest.raises(SeqcliError, match="--source-col and --target-col") as exc:
        task.read_pairs("unused.csv", {"text_col": "a"}, lambda m: None)
    assert exc.value.exit_code == 2


def test_each_sides_split_is_found_from_the_data():
    assert task.resolve_split(["HH AH L OW", "AH", "B IY"], None) == "space"
    assert task.resolve_split(["hello", "new york", "a"], None) == "char"
    assert task.resolve_split(["hello"], "space") == "space"
    assert task.resolve_split([], None) == "char"


def test_held_out_sources_keep_all_their_targets():
    distinct, refs = task.group(["a", "b", "a", "c"], ["1", "2", "3", "4"])
    assert distinct == ["a", "b", "c"] and refs["a"] == ["1", "3"]
    train, val = task.split_sources([f"w{i}" for i in range(100)], 0.1, seed=3)
    assert len(val) == 10 and not set(train) & set(val) and len(train) + len(val) == 100
    assert task.split_sources(["a", "b"], 0.1, 0) == (["a", "b"], [])


def test_several_targets_are_several_valid_answers():
    """A prediction equal to any reference of its source is right; the error rate is measured against
    the closest one."""
    model = SimpleNamespace(config=SimpleNamespace(target_split="space"))
    valset = task.ValSet(["read", "wind"], [[["R", "EH", "D"], ["R", "IY", "D"]], [["W", "IH", "N", "D"]]], [], [])
    said = {"read": "R IY D", "wind": "W AY N D"}
    model.decode = lambda texts: [[SimpleNamespace(tokens=said[t].split())] for t in texts]
    fig, sc = task.figures(model, valset)
    assert (fig["exact"], fig["wer"]) == (0.5, 0.5) and fig["ter"] == pytest.approx(1 / 7)


# ----------------------------------------------------------------------------------------- training

def test_the_loop_watches_the_wer_and_decays_the_learning_rate():
    """The loss improves at every validation but the WER only at the first: the best weights are the
    first validation's, the rate halves at each validation without gain, and training stops after
    patience of them."""
    from seqcli.training.loop import run

    net = SimpleNamespace(params={"w": np.zeros(1)})
    opt = SimpleNamespace(lr=1.0, step=lambda params, grads: params["w"].__iadd__(1.0))
    wers = iter([0.5, 0.6, 0.5, 0.7, 0.9, 0.9])
    losses = iter([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    cfg = SimpleNamespace(epochs=6, patience=2, clip=0, seed=0, max_steps=None, max_time=None)
    state, best = run(net, opt, lambda e: [0], lambda b, r: (1.0, {"w": np.zeros(1)}, 1, 1),
                      lambda: {"loss": next(losses), "objective": next(wers)}, cfg, lr_decay=0.5)
    assert state.best_epoch == 0 and state.best_loss == 0.5 and best["w"][0] == 1.0
    assert state.epoch == 3 and state.stop_reason.startswith("early stopping")
    assert opt.lr == state.lr == 0.25 and [h["lr"] for h in state.history] == [1.0, 0.5, 0.25]


def test_the_whole_path_learns_a_reverse_task(tmp_path):
    """Reversing short strings: every held-out source right within a few seconds of training."""
    data = pairs_csv(tmp_path / "rev.csv", reverse_rows(600, letters="abc", longest=4))
    out = tmp_path / "rev.npz"
    summary = api.train(str(data), str(out), "seq2seq", None,
                        {**TINY, "epochs": 12, "lr": 0.01, "patience": 12, "hidden": 48})
    assert summary["evaluated_on"] == "validation" and summary["n_val_sources"] >= 10
    assert summary["exact"] == 1.0 and summary["wer"] == 0.0 and summary["ter"] == 0.0
    model = models.load(str(out))
    assert (model.config.source_split, model.config.target_split) == ("char", "space")
    assert [o[0].text for o in model.decode(["abcab", "ccba"])] == ["b a c b a", "a b c c"]


def test_one_row_trains_and_validates_on_itself(tmp_path):
    notes = []
    data = write(tmp_path / "one.csv", "source,target\nabc,xyz\n")
    summary = api.train(str(data), str(tmp_path / "m.npz"), "seq2seq", "gru",
                        {**TINY, "attention": "additive"}, notify=notes.append)
    assert summary["evaluated_on"] == "training" and summary["n_val_sources"] == 1
    assert summary["source_split"] == summary["target_split"] == "char"
    assert any("validating on the training pairs" in n for n in notes)


def test_a_halted_run_resumes_to_the_same_model_file(tmp_path):
    data = pairs_csv(tmp_path / "rev.csv", reverse_rows(120))
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    params = {**TINY, "epochs": 3, "dropout": 0.2}
    api.train(str(data), str(whole), "seq2seq", None, params)
    halted = api.train(str(data), str(part), "seq2seq", None, {**params, "max_steps": 10})
    assert halted["halted"].startswith("reached --max-steps")
    api.train(str(data), str(part), resume=halted["checkpoint"])
    assert part.read_bytes() == whole.read_bytes()


def test_a_damaged_model_file_is_one_line(tmp_path):
    from seqcli import persist

    data = pairs_csv(tmp_path / "rev.csv", reverse_rows(40))
    path = tmp_path / "m.npz"
    api.train(str(data), str(path), "seq2seq", None, {**TINY, "epochs": 1})
    header, arrays = persist.load_model(str(path), {"seq2seq"})
    arrays["tgt_vocab"] = arrays["tgt_vocab"][:-1]
    persist.save_model(str(path), "seq2seq", {k: v for k, v in header.items() if k not in
                                              ("format", "format_version", "seqcli_version", "kind")}, arrays)
    with pytest.raises(SeqcliError, match="damaged model file .*vocabularies"):
        models.load(str(path))


# ------------------------------------------------------------------------------------------ predict

@pytest.fixture(scope="module")
def reverser(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s2s")
    data = pairs_csv(folder / "rev.csv", reverse_rows(600, letters="abc", longest=4))
    path = folder / "rev.npz"
    api.train(str(data), str(path), "seq2seq", None, {**TINY, "epochs": 12, "lr": 0.01, "patience": 12,
                                                       "hidden": 48})
    return path


def test_predict_gives_one_line_per_source(reverser):
    rc, out, err = run_seqcli(["predict", reverser], input="abc\n\nca\nbbx\n")
    assert rc == 0 and out.split("\n")[:-1][0] == "c b a" and out.count("\n") == 4
    assert out.split("\n")[2] == "a c"
    assert "never saw" in err and "'x'" in err


def test_predict_json_and_nbest(reverser):
    rc, out, _ = run_seqcli(["predict", reverser, "--json", "--beam", "3", "--nbest", "2"], input="ab\nc\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and [d["target"] for d in lines] == ["b a", "c"]
    for d in lines:
        assert d["ended"] and len(d["nbest"]) == 2 and d["nbest"][0]["target"] == d["target"]
        assert d["nbest"][0]["score"] >= d["nbest"][1]["score"] and d["logprob"] <= 0
    rc, out, _ = run_seqcli(["predict", reverser, "--beam", "2", "--nbest", "2"], input="ab\n")
    assert rc == 0 and out.count("\t") == 1 and out.startswith("b a\t")
    rc, out, err = run_seqcli(["predict", reverser, "--nbest", "3", "--beam", "2"], input="ab\n")
    assert rc == 2 and out == "" and "--nbest 3 needs a beam" in err


def test_predict_answers_each_line_as_it_comes(reverser):
    from pipe_helpers import half_written_exchange

    assert half_written_exchange(["predict", reverser], b"abc\nca", b"b\n") == (b"c b a\n", b"b a c\n")


def test_explain_draws_the_attention_of_every_step(reverser):
    rc, out, _ = run_seqcli(["predict", reverser, "--explain", "--no-color"], input="abc\n")
    assert rc == 0 and "“abc” → c b a" in out and "</s>" in out and "attention weights" in out
    rc, out, _ = run_seqcli(["predict", reverser, "--explain", "--json", "--beam", "2"], input="abc\n")
    record = json.loads(out)
    att = np.array(record["attention"])
    assert rc == 0 and record["target_tokens"] == ["c", "b", "a", "</s>"] and att.shape == (4, 3)
    assert np.allclose(att.sum(axis=1), 1.0) and att[0].argmax() == 2     # "c" reads the last letter
    rc, _, err = run_seqcli(["predict", reverser, "--explain", "--gate", "f"], input="abc\n")
    assert rc == 2 and "attention" in err


# ------------------------------------------------------------------------------------------ compare

def test_compare_trains_and_scores_seq2seq_models_on_held_out_pairs(tmp_path, reverser):
    data = pairs_csv(tmp_path / "rev.csv", reverse_rows(300, seed=5, letters="abc", longest=4))
    doc = api.compare(str(data), ["gru:hidden=16,embed=8,epochs=1", str(reverser)], task="seq2seq", beam=2,
                      jobs=1, seed=1)
    ev, (gru, saved) = doc["evaluation"], doc["models"]
    assert doc["task"] == "seq2seq" and ev["method"] == "val_split" and ev["n_test_sources"] > 0
    assert gru["kind"] == "gru" and gru["train_seconds"] > 0 and gru["train_tokens_per_second"] > 0
    assert saved["kind"] == "file" and saved["train_seconds"] is None and saved["wer"] == 0.0
    for row in (gru, saved):
        assert row["wer"] == pytest.approx(1 - row["exact"]) and 0 <= row["ter"] and "beam_wer" in row
        assert row["decode_words_per_second"] > 0 and row["n_params"] > 0 and row["file_bytes"] > 0
    assert doc["best"]["wer"] == [str(reverser)]
    assert api.compare_task(str(data), [str(reverser)]) == "seq2seq"
    assert api.compare_task(str(data), ["lstm"]) == "classify"
    with pytest.raises(SeqcliError, match="not --folds"):
        api.compare(str(data), [str(reverser)], folds=3)
