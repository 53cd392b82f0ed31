"""Errors the command line reports to its user as one line on stderr, never as a traceback."""


class UserError(Exception):
    """Something the user can fix: a busy port, a missing key, a missing extra. `str()` is the whole message."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
