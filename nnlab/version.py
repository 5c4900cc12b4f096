"""nnlab's version, at the bottom of the import graph: the kernel and the tools read it here."""

__version__ = "0.1.0"
