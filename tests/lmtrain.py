"""``train_lm(corpus, output, params, resume=...)``: a language model trained through ``api.train``,
as the tests of the character language model call it."""

from seqcli import api


def train_lm(corpus, output, params=None, resume=None, **kwargs):
    params = dict(params or {})
    model = params.pop("model", None)
    return api.train(str(corpus), str(output), task="lm", model=model, params=params,
                     resume=None if resume is None else str(resume), **kwargs)
