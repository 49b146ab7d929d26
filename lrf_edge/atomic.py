"""Output folders that appear whole or not at all.

Commands write their results into a temporary folder beside the destination and swap it in
only when everything is written, so a failed or interrupted run leaves the previous output
intact and never a half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lrf_edge.errors import LrfError


@contextmanager
def atomic_folder(outdir: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh folder that replaces `outdir` when the block ends without an error."""
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise LrfError(f"'{out}' exists and is not a folder; choose another -o")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; an output folder is not
        if out.is_dir():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_keras(model: Any, path: str | os.PathLike) -> Path:
    """Save a Keras model so that `path` holds the whole file or its previous content: a
    killed run never leaves a half-written model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
