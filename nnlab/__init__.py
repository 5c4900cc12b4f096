"""nnlab: the lecture "Neural network basics" as commands that run, measure and draw each claim.

Importing this package is cheap on purpose: no torch, numpy or matplotlib until a command needs them.
"""

__version__ = "0.1.0"
