"""The one exception type users see.

Every stage raises `LrfError` for bad input it can name (missing file, unsupported layer,
impossible budget, missing toolchain). The command line turns it into one line on stderr and
exit code 2; anything else is a bug and keeps its traceback.
"""


class LrfError(Exception):
    """A problem with the user's input or environment, stated with its fix."""
