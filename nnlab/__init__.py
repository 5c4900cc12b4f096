"""nnlab: the lecture "Neural network basics" as commands that run, measure and draw each claim.

Importing this package is cheap on purpose: no torch, numpy or matplotlib until a run starts.

    import nnlab
    result = nnlab.run("init", scale=["0.05"], quick=True)   # a Result: .path .summary .claims .figures
    nnlab.load(result.path)                                   # the same Result, read back
"""

from typing import Any

from nnlab.core.errors import UserError
from nnlab.version import __version__


def run(command: str, **kwargs: Any):
    """Run `nnlab <command>` in this process; see nnlab.api.run."""
    from nnlab.api import run as _run

    return _run(command, **kwargs)


def load(run_dir):
    """Read a run directory into a Result; see nnlab.api.load."""
    from nnlab.api import load as _load

    return _load(run_dir)


__all__ = ["UserError", "__version__", "load", "run"]
