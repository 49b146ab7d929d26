"""The SQLite store: content-hash keys, commit per row, reopen and resume."""

import sqlite3

import pytest

from lrf_edge.errors import LrfError
from lrf_edge.store import Store, content_hash, data_key, evaluation_key, file_hash


def test_keys_are_content_hashes(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(b"x" * 10)
    b = tmp_path / "b.bin"
    b.write_bytes(b"x" * 10)
    assert file_hash(a) == file_hash(b)
    assert data_key("mnist5k") == "mnist5k"
    choice = [{"layer": "fc1", "method": "svd", "row": {"rank": 3}}]
    k = evaluation_key("m", "d", {"epochs": 3, "seed": 0}, choice)
    assert k == evaluation_key("m", "d", {"seed": 0, "epochs": 3}, choice)  # order-free
    assert k != evaluation_key("m", "d", {"epochs": 2, "seed": 0}, choice)
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})


def test_put_get_survives_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.put({"key": "k1", "kind": "candidate", "model_hash": "m", "data": "d",
               "options": {"epochs": 1}, "choice": [{"layer": "fc1"}], "score": 0.9,
               "params": 10, "flops": 20})
        assert s.count("candidate") == 1
    # committed on put: a fresh connection (another process) sees it
    raw = sqlite3.connect(str(path)).execute("SELECT score FROM evaluations").fetchall()
    assert raw == [(0.9,)]
    with Store(path) as s:
        row = s.get("k1")
        assert row["choice"] == [{"layer": "fc1"}] and row["options"] == {"epochs": 1}
        assert row["finished_at"] > 0 and row["pid"] > 0
        assert s.get("nope") is None
        assert set(s.get_many(["k1", "nope"])) == {"k1"}


def test_not_a_store(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LrfError, match="not a usable SQLite store"):
        Store(bad)
