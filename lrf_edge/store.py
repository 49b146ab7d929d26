"""The SQLite store: every finished evaluation, keyed by content hashes, so any command
resumes where it stopped.

An evaluation's key hashes what determines its result: the model file's content, the data
(a built-in set's name or the .npz file's content), the training options and the candidate
(its per-layer choice). The same candidate in another exploration (another grid, another
selection) is therefore found again and not recomputed. Each row is committed as soon as it
is written, so killing the process loses at most the evaluations in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

from lrf_edge.errors import LrfError

SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'baseline' or 'candidate'
    model_hash TEXT NOT NULL,
    data TEXT NOT NULL,
    options TEXT NOT NULL,         -- JSON of the training options
    choice TEXT NOT NULL,          -- JSON: per layer {layer, method, row}
    metric TEXT,                   -- 'accuracy' or 'mse'
    score REAL,
    params INTEGER, flops INTEGER, macs INTEGER,
    kept_params INTEGER, kept_flops INTEGER,
    latency REAL,
    seconds REAL,                  -- wall time of the evaluation
    finished_at REAL,              -- unix time the row was written
    pid INTEGER,                   -- process that computed it
    extra TEXT                     -- JSON, anything else
);
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    model_hash TEXT, data TEXT, options TEXT, started_at REAL, finished_at REAL
);
"""

COLUMNS = ("key", "kind", "model_hash", "data", "options", "choice", "metric", "score",
           "params", "flops", "macs", "kept_params", "kept_flops", "latency", "seconds",
           "finished_at", "pid", "extra")
JSON_COLUMNS = ("options", "choice", "extra")


def canonical(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) - what hashes are taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def content_hash(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:24]


def file_hash(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise LrfError(f"cannot read '{path}' to hash it ({exc.strerror})") from None
    return h.hexdigest()[:24]


def data_key(spec: str) -> str:
    """A built-in data set by name, a file by content."""
    from lrf_edge.data import BUILTIN
    return spec if spec in BUILTIN else f"npz:{file_hash(spec)}"


def evaluation_key(model_hash: str, data: str, options: dict, choice: list) -> str:
    return content_hash({"model": model_hash, "data": data, "options": options,
                         "choice": choice})


class Store:
    """A thin SQLite wrapper; one connection, autocommit per write."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LrfError(f"'{self.path}' is not a usable SQLite store ({exc}); give another "
                           "--store path or delete it") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ evaluations

    def put(self, row: dict[str, Any]) -> None:
        """Write one finished evaluation and commit it (replacing a row with its key)."""
        vals = dict(row)
        vals.setdefault("finished_at", time.time())
        vals.setdefault("pid", os.getpid())
        for c in JSON_COLUMNS:
            if c in vals and not isinstance(vals[c], str):
                vals[c] = canonical(vals[c])
        cols = [c for c in COLUMNS if c in vals]
        self.db.execute(f"INSERT OR REPLACE INTO evaluations ({','.join(cols)}) VALUES "
                        f"({','.join('?' * len(cols))})", [vals[c] for c in cols])

    def get(self, key: str) -> dict[str, Any] | None:
        cur = self.db.execute(f"SELECT {','.join(COLUMNS)} FROM evaluations WHERE key = ?",
                              (key,))
        r = cur.fetchone()
        return self._row(r) if r else None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            cur = self.db.execute(f"SELECT {','.join(COLUMNS)} FROM evaluations WHERE key IN "
                                  f"({','.join('?' * len(part))})", part)
            for r in cur.fetchall():
                row = self._row(r)
                out[row["key"]] = row
        return out

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self.db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM evaluations WHERE kind = ?",
                               (kind,)).fetchone()[0]

    def all(self) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {','.join(COLUMNS)} FROM evaluations ORDER BY rowid")
        return [self._row(r) for r in cur.fetchall()]

    @staticmethod
    def _row(r: tuple) -> dict[str, Any]:
        row = dict(zip(COLUMNS, r))
        for c in JSON_COLUMNS:
            if row[c] is not None:
                row[c] = json.loads(row[c])
        return row

    # ------------------------------------------------------------------ runs

    def start_run(self, key: str, model_hash: str, data: str, options: dict) -> None:
        self.db.execute("INSERT OR IGNORE INTO runs (key, model_hash, data, options, "
                        "started_at) VALUES (?, ?, ?, ?, ?)",
                        (key, model_hash, data, canonical(options), time.time()))

    def finish_run(self, key: str) -> None:
        self.db.execute("UPDATE runs SET finished_at = ? WHERE key = ?", (time.time(), key))

    def run(self, key: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT key, model_hash, data, options, started_at, finished_at "
                            "FROM runs WHERE key = ?", (key,)).fetchone()
        if not r:
            return None
        return {"key": r[0], "model_hash": r[1], "data": r[2], "options": json.loads(r[3]),
                "started_at": r[4], "finished_at": r[5]}
