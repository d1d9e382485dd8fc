"""Explanations (``seqcli predict MODEL --explain``): values equal to the forward pass, and what the
terminal panels show, with colour on and off, for every model kind.

Snapshot-style: panels are drawn on a recording rich Console of fixed width and the tests assert on
stable pieces (token labels, row names, legend, shade characters), not on whole strings.
"""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from seqcli import explain as ex
from seqcli import api
from seqcli.ui import explain as ue
from seqcli.errors import SeqcliError
from seqcli.nn import cells
from seqcli.text import pad_batch

TEXTS = ["the film was good and nice", "the film was bad and awful", "not good at all",
         "not bad really", "a lovely fine film", "a dull boring film", "good good nice",
         "bad awful ugly"]
LABELS = ["pos", "neg", "neg", "pos", "pos", "neg", "pos", "neg"]
SENTENCE = "the film was not good but nice"
SHADE_CHARS = set("░▒▓█")


def _seq(**kw):
    from seqcli.estimators import SeqClassifier

    params = dict(embed=8, hidden=6, epochs=1, val_split=0, dropout=0.0, seed=0)
    params.update(kw)
    return SeqClassifier(**params).fit(TEXTS * 2, LABELS * 2).model_


@pytest.fixture(scope="module")
def models():
    from seqcli.estimators import BowClassifier

    return {
        "lstm": _seq(cell="lstm"),
        "gru": _seq(cell="gru"),
        "rnn": _seq(cell="rnn"),
        "bi": _seq(cell="lstm", bidirectional=True, layers=2),
        "bow": BowClassifier(epochs=5, val_split=0).fit(TEXTS * 2, LABELS * 2).model_,
    }


@pytest.fixture(scope="module")
def lm():
    from seqcli.models.charlm import CharLMModel
    from seqcli.nn.lmnet import CharLMNet

    corpus = "the cat sat on the mat\nthe dog ate the hat\n"
    chars, counts = CharLMModel.vocabulary(corpus)
    return CharLMModel(chars, CharLMNet(len(chars), "lstm", embed=4, hidden=5, layers=2, seed=1), counts)


def console(colour, width=80):
    from rich.console import Console

    return Console(record=True, width=width, file=io.StringIO(), force_terminal=colour,
                   color_system="truecolor" if colour else None, no_color=not colour)


def run_explain(model, texts, *, units=None, gate=None, layer=None, stats=False, **kw):
    """What ``seqcli predict MODEL --explain`` does: records (or saturation) from the api, drawn by ui."""
    if stats:
        return ue.render_stats(api.saturation(model, texts, units, gate, layer), **kw)
    return ue.render(api.explain(model, texts, units, gate, layer), **kw)


def render(model, texts, colour, width=80, **kw):
    """(plain text, text with ANSI styles) of the panels for ``texts``."""
    c = console(colour, width)
    run_explain(model, texts, console=c, **kw)
    return c.export_text(styles=False, clear=False), c.export_text(styles=True)


def r6(a):
    """An array as --json writes it: float64 rounded to 6 decimals."""
    return np.round(np.asarray(a, dtype=np.float64), 6)


def as_json(model, texts, **kw):
    buf = io.StringIO()
    run_explain(model, texts, as_json=True, file=buf, **kw)
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def states_of(model, text):
    ids, lengths = pad_batch(model.encode([text]))
    return model.net.states(ids, lengths), ids.shape[0]


def row_lines(plain, label):
    """The heatmap lines whose row label is ``label`` (inside the panel border)."""
    out = []
    for line in plain.splitlines():
        inner = line.strip("│ ").rstrip()
        if inner.startswith(label + " ") and inner[len(label):len(label) + 1] == " ":
            out.append(inner)
    return out


# ------------------------------------------------------------------------------ exact values

@pytest.mark.parametrize("name", ["lstm", "gru", "rnn", "bi"])
def test_json_arrays_are_the_forward_pass_values(models, name):
    model = models[name]
    rec = as_json(model, [SENTENCE])[0]
    st, T = states_of(model, SENTENCE)
    assert rec["tokens"] == model.tokenize(SENTENCE)
    expected = {k[len("enc."):]: v for k, v in st.items() if k.startswith("enc.")}
    assert set(rec["gates"]) == set(expected)          # every layer, direction and field
    for key, arr in expected.items():
        got = np.array(rec["gates"][key]["values"])
        assert got.shape == (model.net.hidden, T)
        assert np.array_equal(got, r6(arr[:, :, 0].T)), key   # the very arrays, rounded as all JSON
        assert rec["gates"][key]["units"] == list(range(model.net.hidden))
    for i, c in enumerate(model.classes):
        assert np.array_equal(np.array(rec["prefix_proba"][c]), r6(st["proba"][i, :, 0]))
    probs = model.predict_proba([SENTENCE])[0]
    assert [rec["probs"][c] for c in model.classes] == pytest.approx(probs.tolist(), abs=1e-6)
    assert rec["label"] == model.classes[int(np.argmax(probs))]


def test_json_equals_the_cell_cache_of_a_direct_forward_call(models):
    model = models["lstm"]
    ids, lengths = pad_batch(model.encode([SENTENCE]))
    _, cache = model.net.forward(ids, lengths)
    layer_cache = cache[1][0][0]                          # encoder caches -> layer 0 (LSTMCache)
    rec = as_json(model, [SENTENCE])[0]
    for field in ("gu", "gf", "go", "cc", "c", "a"):
        direct = getattr(layer_cache, field)[:, :, 0].T
        assert np.array_equal(np.array(rec["gates"][f"l0.fw.{field}"]["values"]), r6(direct))


def test_layer_option_restricts_json_and_picks_the_displayed_layer(models):
    model = models["bi"]
    rec = as_json(model, [SENTENCE], layer=0)[0]
    assert {k.split(".")[0] for k in rec["gates"]} == {"l0"}
    assert {k.split(".")[1] for k in rec["gates"]} == {"fw", "bw"}
    plain0, _ = render(model, [SENTENCE], False, layer=0)
    plain_last, _ = render(model, [SENTENCE], False)
    assert "layer 0 of 0..1" in plain0 and "layer 1 of 0..1" in plain_last
    st, _ = states_of(model, SENTENCE)
    mean0 = st["enc.l0.bw.gf"][:, :, 0].mean(axis=1)
    assert ue.fmt(float(mean0[0])) in row_lines(plain0, "bw Γf")[0]


# ------------------------------------------------------------------------------ panels

def test_lstm_panel_without_colour_has_labels_rows_shades_and_numbers(models):
    model = models["lstm"]
    plain, styled = render(model, [SENTENCE], False)
    assert "\x1b[" not in styled                           # no escape codes at all
    for tok in model.tokenize(SENTENCE):
        assert tok in plain
    for row in ("Γu", "Γf", "Γo", "c~", "c", "a"):
        assert len(row_lines(plain, row)) == 1, row
    label = model.predict_proba([SENTENCE])[0].argmax()
    assert f"P({model.classes[label]})" in plain
    f_line = row_lines(plain, "Γf")[0]
    assert set(f_line) & SHADE_CHARS
    st, _ = states_of(model, SENTENCE)
    means = st["enc.l0.fw.gf"][:, :, 0].mean(axis=1)
    assert [ue.fmt(float(v)) for v in means] == [cell.lstrip("░▒▓█") for cell in f_line.split()[1:]]
    assert "shade  ░ <25%  ▒ <50%  ▓ <75%  █ ≥75%" in plain     # the legend
    assert "LSTM · 1 layer · mean over 6 units" in plain


def test_lstm_panel_with_colour_uses_backgrounds_not_shades(models):
    plain, styled = render(models["lstm"], [SENTENCE], True)
    assert "\x1b[" in styled and "48;2;" in styled           # truecolor backgrounds
    assert not set(row_lines(plain, "Γf")[0]) & SHADE_CHARS   # colour carries the value
    assert "scale  0" in plain and " 1  Γu, Γf, Γo, P" in plain
    assert "-1" in plain and "+1  c~, a" in plain
    for tok in ("the", "film", "not", "good", "nice"):
        assert tok in plain


def test_gru_and_rnn_rows(models):
    plain, _ = render(models["gru"], [SENTENCE], False)
    assert row_lines(plain, "Γu") and row_lines(plain, "Γr") and row_lines(plain, "a")
    assert not row_lines(plain, "Γf") and not row_lines(plain, "Γo")
    assert "GRU" in plain
    plain, styled = render(models["rnn"], [SENTENCE], True)
    assert row_lines(plain, "a") and not row_lines(plain, "Γu")
    assert "RNN" in plain and "48;2;" in styled
    plain, _ = render(models["rnn"], [SENTENCE], False)
    assert set(row_lines(plain, "a")[0]) & SHADE_CHARS


def test_bidirectional_shows_both_directions(models):
    for colour in (False, True):
        plain, _ = render(models["bi"], [SENTENCE], colour)
        for d in ("fw", "bw"):
            for row in ("Γu", "Γf", "Γo", "c~", "c", "a"):
                assert len(row_lines(plain, f"{d} {row}")) == 1, (d, row, colour)
        assert "LSTM bidirectional" in plain


def test_gate_option_restricts_rows_and_json(models):
    model = models["lstm"]
    plain, _ = render(model, [SENTENCE], False, gate="f")
    assert row_lines(plain, "Γf")
    for other in ("Γu", "Γo", "c~", "c", "a"):
        assert not row_lines(plain, other), other
    assert row_lines(plain, "P(pos)") or row_lines(plain, "P(neg)")
    rec = as_json(model, [SENTENCE], gate="forget,output")[0]
    assert set(rec["gates"]) == {"l0.fw.gf", "l0.fw.go"}
    with pytest.raises(SeqcliError) as err:
        as_json(models["gru"], [SENTENCE], gate="o")
    assert err.value.exit_code == 2 and "reset gate" in err.value.message


def test_units_by_list(models):
    model = models["lstm"]
    plain, _ = render(model, [SENTENCE], False, units="3,1")
    assert row_lines(plain, "Γf 3") and row_lines(plain, "Γf 1") and not row_lines(plain, "Γf 0")
    assert "units 3, 1" in plain
    rec = as_json(model, [SENTENCE], units="3,1")[0]
    st, _ = states_of(model, SENTENCE)
    for key, g in rec["gates"].items():
        assert g["units"] == [3, 1]
        assert np.array_equal(np.array(g["values"]), r6(st["enc." + key][:, [3, 1], 0].T))
    for bad in ("6", "x", "-1", "top:0", ","):
        with pytest.raises(SeqcliError) as err:
            run_explain(model, [SENTENCE], units=bad, as_json=True, file=io.StringIO())
        assert err.value.exit_code == 2


def test_units_top_k_are_the_most_varying_over_the_real_steps(models):
    model = models["lstm"]
    text = "good"                       # short: a batch with longer rows would add padded steps
    rec = as_json(model, [text, SENTENCE], units="top:2")[1]
    st, T = states_of(model, SENTENCE)
    for key, g in rec["gates"].items():
        values = st["enc." + key][:, :, 0]                      # (T, n_a)
        expected = list(np.argsort(-values.var(axis=0), kind="stable")[:2])
        assert g["units"] == expected, key
        assert np.array_equal(np.array(g["values"]), r6(values[:, expected].T))
    plain, _ = render(model, [SENTENCE], False, units="top:2")
    assert len([r for r in plain.splitlines() if "│ Γf " in r]) == 2
    assert "top 2 varying units of each field" in plain
    big = as_json(model, [SENTENCE], units="top:100")[0]          # k above n_a: every unit
    assert all(len(g["units"]) == model.net.hidden for g in big["gates"].values())


def test_layer_out_of_range_is_a_usage_error(models):
    with pytest.raises(SeqcliError) as err:
        run_explain(models["bi"], [SENTENCE], layer=2, as_json=True, file=io.StringIO())
    assert err.value.exit_code == 2 and "2 layers" in err.value.message
    with pytest.raises(SeqcliError):
        run_explain(models["bow"], [SENTENCE], units="top:3")


def test_sixty_words_wrap_at_80_columns(models):
    from rich.cells import cell_len

    model = models["lstm"]
    words = [w for t in TEXTS for w in t.split()]
    text = " ".join((words * 3)[:60])
    for colour in (False, True):
        plain, _ = render(model, [text], colour, width=80)
        lines = plain.splitlines()
        assert max(cell_len(line) for line in lines) <= 80
        # the header lines (token labels) in order give back every token
        headers = [lines[i - 1].strip("│ ") for i, line in enumerate(lines)
                   if line.strip("│ ").startswith("Γu ")]          # the line above each block's first row
        seen = " ".join(headers).split()
        assert seen == model.tokenize(text)
        assert len(row_lines(plain, "Γf")) >= 3                   # wrapped into several blocks


def test_long_token_label_is_cut_and_empty_text_is_explained(models):
    model = models["lstm"]
    plain, _ = render(model, ["good " + "x" * 40], False)
    assert "x" * 15 + "…" in plain
    plain, _ = render(model, [""], False)
    assert "no tokens" in plain
    rec = as_json(model, [""])[0]
    assert rec["tokens"] == [] and rec["gates"]["l0.fw.gf"]["values"] == [[]] * model.net.hidden


# ------------------------------------------------------------------------------ saturation

def test_stats_share_of_saturated_gate_values(models):
    model = models["bi"]
    texts = [SENTENCE, "good", "bad and awful really"]
    buf = io.StringIO()
    run_explain(model, texts, stats=True, as_json=True, file=buf)
    doc = json.loads(buf.getvalue())["saturation"]
    assert doc["n_texts"] == 3 and doc["n_steps"] == sum(len(model.tokenize(t)) for t in texts)
    for row in doc["rows"]:
        vals = np.concatenate([states_of(model, t)[0][f"enc.l{row['layer']}.{row['direction']}.{row['gate']}"]
                               [:, :, 0].ravel() for t in texts])
        assert row["n"] == vals.size
        assert row["low"] == pytest.approx(np.mean(vals < 0.1))
        assert row["high"] == pytest.approx(np.mean(vals > 0.9))
        assert row["mean"] == pytest.approx(vals.mean(), rel=1e-5)
    assert {(r["layer"], r["direction"], r["gate"]) for r in doc["rows"]} == {
        (i, d, g) for i in (0, 1) for d in ("fw", "bw") for g in ("gu", "gf", "go")}
    plain, _ = render(model, texts, False, stats=True)
    assert "gate saturation over 3 texts" in plain and "Γf forget gate" in plain and "%" in plain
    with pytest.raises(SeqcliError):
        run_explain(models["bow"], texts, stats=True)


# ------------------------------------------------------------------------------ bag of words

def test_bow_words_coloured_by_contribution_and_top_table(models):
    model = models["bow"]
    text = "the film was not good but nice"
    rec = next(ex.explain(model, [text]))
    logits = model.net.logits(model.features([text]))[:, 0]
    assert rec["score"] == pytest.approx(float(logits[rec["winner"]]))
    assert rec["token_scores"].sum() == pytest.approx(rec["score"] - rec["bias"], abs=1e-5)
    W = model.net.params["W"]
    for f in rec["features"]:
        assert f["contribution"] == pytest.approx(W[rec["winner"], f["column"]] * f["value"])
    plain, styled = render(model, [text], False)
    assert "\x1b[" not in styled
    assert "not(" in plain and "good(" in plain and "top features for and against" in plain
    assert "score(" in plain
    plain, styled = render(model, [text], True)
    assert "48;2;" in styled and " not " in plain and "for " + rec["label"] in plain
    out = as_json(model, [text])[0]
    assert out["tokens"] == text.split()
    assert sum(out["token_scores"]) == pytest.approx(out["score"] - out["bias"], abs=1e-5)


@pytest.mark.parametrize("params", [dict(ngram_max=2), dict(analyzer="char", ngram_min=2, ngram_max=3),
                                    dict(hash_bits=8, mode="counts")])
def test_bow_attribution_adds_up_for_ngrams_chars_and_hashing(params):
    from seqcli.estimators import BowClassifier

    model = BowClassifier(epochs=2, val_split=0, **params).fit(TEXTS, LABELS).model_
    rec = next(ex.explain(model, ["not good at all, the film"]))
    assert rec["token_scores"].sum() == pytest.approx(rec["score"] - rec["bias"], abs=1e-5)
    plain, _ = render(model, ["not good at all, the film"], False)
    assert "top features" in plain


# ------------------------------------------------------------------------------ language models

def test_lm_characters_coloured_by_one_unit_and_saturation_per_layer(lm):
    text = "the cat ate!"                                  # '!' is not in the vocabulary
    rec = as_json(lm, [text])[0]
    ids = np.concatenate([[lm.newline], lm.encode(text, skip_unknown=True)])
    _, cache, _ = lm.net.forward(ids.reshape(-1, 1))
    for i in range(2):
        st = cells.states("lstm", cache.rnn.caches[i])
        for f in ("gu", "gf", "go", "cc", "c", "a"):
            assert np.array_equal(np.array(rec["gates"][f"l{i}.fw.{f}"]["values"]), r6(st[f][1:, :, 0].T))
    assert rec["tokens"] == list("the cat ate") and rec["skipped"] == ["!"]
    assert all(0 < p < 1 for p in rec["char_proba"])
    plain, _ = render(lm, [text], False)
    lines = [line.strip("│").rstrip() for line in plain.splitlines()]
    k = next(i for i, line in enumerate(lines) if line.strip() == text)
    assert set(lines[k + 1].strip()) <= SHADE_CHARS | {" "}           # shade under each character
    assert len(lines[k + 1].rstrip()) == len(lines[k].rstrip()) - 1    # none under the unknown '!'
    assert "\x1b[" not in render(lm, [text], False)[1]
    assert "unit" in plain and "gate saturation" in plain and "Γf forget gate" in plain
    assert sum("│      0 │" in line or "│      1 │" in line for line in plain.splitlines()) >= 6
    plain, styled = render(lm, [text], True, units="top:2")
    assert plain.count("· unit ") == 2 and "48;2;" in styled
    plain, _ = render(lm, ["the cat"], False, units="2", gate="c", layer=0)
    assert "layer 0 · c (memory cell) · unit 2" in plain


# ------------------------------------------------------------------------------ consoles, imports

def test_colour_decision(models, monkeypatch):
    assert not ue.colour_enabled(ue.make_console(file=io.StringIO()))     # not a terminal
    assert not ue.colour_enabled(console(True), no_color=True)            # --no-color
    assert ue.colour_enabled(console(True))
    monkeypatch.setenv("NO_COLOR", "1")
    from rich.console import Console

    assert not ue.colour_enabled(Console(file=io.StringIO(), force_terminal=True))
    plain, styled = render(models["lstm"], [SENTENCE], True, no_color=True)
    assert set(row_lines(plain, "Γf")[0]) & SHADE_CHARS


def test_importing_the_explain_modules_does_not_import_rich():
    code = "import sys, seqcli.ui.explain, seqcli.explain; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
