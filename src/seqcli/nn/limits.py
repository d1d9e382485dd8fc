"""The largest sizes a network may have: the bounds of the hyperparameters (config.py reads them) and
of the checks a stored network passes before it is built (checks.py). No imports, so the command line
can read them without loading numpy."""

MAX_UNITS = 8192          # --hidden, --embed
MAX_LAYERS = 16           # --layers
MAX_VOCAB = 10**7         # words or characters
MAX_CLASSES = 10**6
MAX_FEATURES = 1 << 30    # bag-of-words columns (--max-features / --hash-bits 24 are far below)
MAX_HASH_BITS = 24        # --hash-bits: df_/idf_ have 2**bits entries, 2**24 int64 is already 128 MiB
