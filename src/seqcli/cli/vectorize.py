"""``seqcli vectorize``: text -> bag-of-words / n-gram / tf-idf / hashed vectors, one per input line."""

import json
import sys
from typing import Annotated, Literal, Optional

import typer

from seqcli.cli import options as opt
from seqcli.cli.guard import guarded
from seqcli.config import VectorizerConfig
from seqcli.errors import SeqcliError

EXAMPLES = ("seqcli vectorize corpus.txt --ngrams 1:2 --mode tfidf > vectors.jsonl",
            "seqcli vectorize sample_data/reviews.csv --format svmlight -o reviews.svm",
            "seqcli vectorize train.txt --save vec.npz -o train.jsonl",
            "seqcli vectorize new.txt --load vec.npz")


@guarded
def vectorize(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help="Text file (one document per line), or a CSV/TSV whose text column is read; - for stdin.")] = "-",
    fit: Annotated[Optional[str], typer.Option("--fit", help="Fit the vocabulary on this corpus instead of INPUT.")] = None,
    save: Annotated[Optional[str], typer.Option("--save", help="Save the fitted vectorizer to this file.")] = None,
    load: Annotated[Optional[str], typer.Option("--load", help="Use a vectorizer saved with --save.")] = None,
    mode: Annotated[opt.choices(VectorizerConfig, "mode"), typer.Option("--mode", help="Feature values.")] = "counts",
    ngrams: opt.Ngrams = None,
    analyzer: opt.Analyzer = "word",
    hash_bits: opt.HashBits = None,
    min_df: opt.MinDf = 1,
    max_features: opt.MaxFeatures = None,
    fmt: Annotated[Literal["jsonl", "svmlight", "npz"], typer.Option("--format", help="Output format.")] = "jsonl",
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write vectors here instead of stdout (needed for npz on a terminal).")] = None,
    vocab: Annotated[bool, typer.Option("--vocab", help="Print the vocabulary with document frequencies instead of vectors.")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Print the number of distinct n-grams per order instead of vectors.")] = False,
    as_json: opt.JsonOut = False,
    errors: opt.Errors = "replace",
    force: opt.Force = False,
    text_col: opt.TextCol = None,
    label_col: Annotated[Optional[str], typer.Option("--label-col", help="A table's label column (default: found by name); its labels start the svmlight lines.")] = None,
):
    """Turn text into bag-of-words / n-gram / tf-idf / hashed vectors, one per input line."""
    from seqcli import api, ui

    if save:
        api.check_output(save, [input, fit], force, what="vectorizer", option="--save")
    texts, labels = api.read_documents(input, text_col, label_col, ui.note, errors)
    if load:
        settings = ("fit", "mode", "ngrams", "analyzer", "hash_bits", "min_df", "max_features")
        given = [f"--{name.replace('_', '-')}" for name in settings
                 if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"]
        if given:
            raise typer.BadParameter("does not go with --load: the saved vectorizer's settings are used",
                                     param_hint=given[0])
        vec = api.load_vectorizer(load)
    else:
        lo, hi = ngrams or (1, 1)
        if hash_bits and (min_df != 1 or max_features):
            raise typer.BadParameter("keeps no vocabulary, so --min-df/--max-features cannot apply",
                                     param_hint="--hash-bits")
        cfg = VectorizerConfig(analyzer=analyzer, ngram_min=lo, ngram_max=hi, mode=mode, min_df=min_df,
                               max_features=max_features, hash_bits=hash_bits)
        corpus = api.read_documents(fit, text_col, None, ui.note, errors)[0] if fit else texts
        vec = api.fit_vectorizer(corpus, cfg, fit or input)
    if save:
        api.save_vectorizer(save, vec)
        print(f"seqcli: saved vectorizer to {save} ({vec.n_features_} features)", file=sys.stderr)

    def emit(write):  # to --output through a temporary file (a full disk leaves it whole), or stdout
        if output:
            api.write_output(output, write)
        else:
            write(sys.stdout)

    if stats:
        counts = vec.ngram_stats(texts)
        emit(lambda out: out.write(json.dumps({"ngram_vocabulary": {str(n): k for n, k in counts}}) + "\n"
                                   if as_json else "".join(f"{n}-grams\t{k}\n" for n, k in counts)))
        return
    if vocab:
        if vec.config.hash_bits:
            raise typer.BadParameter("a hashing vectorizer keeps no vocabulary", param_hint="--vocab")

        def write_vocab(out):
            for name, df in zip(vec.feature_names(), vec.df_.tolist()):
                out.write(json.dumps({"token": name, "df": df}, ensure_ascii=False) + "\n" if as_json
                          else f"{name}\t{df}\n")

        emit(write_vocab)
        return
    if fmt == "npz":
        if output is None and sys.stdout.isatty():
            raise SeqcliError("--format npz is binary: give --output FILE or redirect stdout")
        api.write_vectors(vec, texts, fmt, output if output else sys.stdout.buffer)
        return
    emit(lambda target: api.write_vectors(vec, texts, fmt, target, labels))
