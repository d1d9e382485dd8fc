"""How many threads BLAS may use in a block of code."""

import contextlib


def blas_threads(n):
    """Limit BLAS to ``n`` threads inside the block (a no-op without threadpoolctl).

    A character model's products are small (a batch is a few dozen columns), so extra BLAS threads
    gain little even on an idle machine, and on a busy one OpenBLAS's spinning threads made training
    3-4x slower here (5,000 against 16,000-24,000 characters/s for a 1x256 LSTM); one thread is the
    robust default there, and for sampling, which multiplies one vector at a time.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(n), user_api="blas")
