"""seqcli: sequence tasks on text from the command line, over a hand-written NumPy model zoo."""

__version__ = "0.1.0"
