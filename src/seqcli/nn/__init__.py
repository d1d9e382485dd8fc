"""The NumPy model zoo. Imports numpy and nothing else from seqcli."""
