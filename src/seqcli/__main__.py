"""`python -m seqcli` runs the same entry point as the `seqcli` console script."""

from seqcli.cli import main

main()
