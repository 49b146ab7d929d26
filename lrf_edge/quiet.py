"""Keep library chatter off the user's terminal: TensorFlow's C++ and Python logs, absl's
start-up lines, the TFLite converter's prints, Keras/numpy warnings. The command line calls
`quiet()` unless --verbose (then `verbose()`).

Set before TensorFlow is imported and inherited by worker processes (the environment), so a
command's stderr holds only its own progress and errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from typing import Iterator

from lrf_edge.errors import LrfError

CHATTY_LOGGERS = ("tensorflow", "absl", "h5py", "matplotlib", "tf2onnx", "jax")
ENV = "LRF_EDGE_QUIET"   # set by quiet(); `import lrf_edge` in a worker process obeys it
_state = {"quiet": False}


def quiet() -> None:
    _state["quiet"] = True
    os.environ[ENV] = "1"                     # worker processes are quiet too
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["GRPC_VERBOSITY"] = "ERROR"
    os.environ["PYTHONWARNINGS"] = "ignore"   # the processes of a local executor
    warnings.simplefilter("ignore")
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def verbose() -> None:
    _state["quiet"] = False
    os.environ.pop(ENV, None)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


@contextlib.contextmanager
def native_stderr() -> Iterator[None]:
    """In quiet mode, what C/C++ code writes to file descriptor 2 inside the block (the
    TFLite converter prints its settings there) is held back; it is shown if the block
    fails with an unexpected error."""
    if not _state["quiet"]:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except Exception as exc:
            failed = not isinstance(exc, LrfError)
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                sys.stderr.write(held.read().decode(errors="replace"))
