"""`nnlab doctor`: checks of this machine (cli: the click face; checks: the checks themselves)."""
