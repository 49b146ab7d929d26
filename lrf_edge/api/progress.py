"""Progress of a long call on stderr: a tqdm bar on a terminal, one line per finished step
otherwise (a log, a CI job, `--json` piped to a file), so stdout stays the command's output.

`progress=` of the API: True (this reporter), False (silent) or a callable that receives
each step's message.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Union

ProgressLike = Union[bool, Callable[[str], None]]


class Progress:
    """One call's steps: `step(msg)` when one finishes; `close()` at the end."""

    def __init__(self, desc: str, progress: ProgressLike = True, total: int | None = None,
                 unit: str = "step"):
        self.desc = desc
        self.callback = progress if callable(progress) else None
        self.enabled = bool(progress) and self.callback is None
        self.bar: Any = None
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                            dynamic_ncols=True)

    @property
    def on_terminal(self) -> bool:
        return self.bar is not None

    def step(self, msg: str) -> None:
        """A step finished: advance the bar, or print its line."""
        if self.callback is not None:
            self.callback(msg)
        elif self.bar is not None:
            self.bar.set_postfix_str(msg[:70], refresh=False)
            self.bar.update(1)
        elif self.enabled:
            print(f"{self.desc}: {msg}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
