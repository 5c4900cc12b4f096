"""Errors meant for people: one line, exit code 2, never a traceback."""


class UserError(Exception):
    """Bad input from the user (an option, a recipe, a path). The CLI prints the message and exits 2."""
