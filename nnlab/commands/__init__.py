"""The experiment commands, one package each: `nnlab/commands/<name>/` (see nnlab.core.command)."""
