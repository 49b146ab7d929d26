"""`pip install .` outside the repo: every package and data file must be declared."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_declared():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = cfg["package-dir"]
    found = set()
    for name, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == set(cfg["packages"])


def test_templates_and_targets_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = {pkg: pats for pkg, pats in cfg["package-data"].items()}
    for pkg, folder in (("lrf_edge.templates", "templates"), ("lrf_edge.targets", "targets")):
        files = [f for f in (ROOT / folder).iterdir() if f.is_file() and f.suffix != ".py"]
        assert files
        for f in files:
            assert any(f.match(p) for p in globs[pkg]), f"{f.name} is not package data"
