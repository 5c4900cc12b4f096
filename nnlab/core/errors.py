"""Errors meant for people: one line, exit code 2, never a traceback."""

MAX_MESSAGE = 280  # characters: a message echoes input, and input can be a megabyte


class UserError(Exception):
    """Bad input from the user (an option, a recipe, a path). The CLI prints the message and exits 2.

    The message is made one line, and a long one keeps its start and end (where the key and the rule are)
    with the middle cut, whatever value it quoted.
    """

    def __init__(self, message: str):
        message = " ".join(str(message).split())
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 64] + " … " + message[-60:]
        super().__init__(message)


def did_you_mean(name: object, known) -> str:
    """' (did you mean 'x'?)' naming the closest of `known` to `name`, or '': the one hint every refusal gives."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
