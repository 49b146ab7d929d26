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


def test_templates_targets_and_cores_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = {pkg: pats for pkg, pats in cfg["package-data"].items()}
    for pkg, folder in (("lrf_edge.templates", "templates"), ("lrf_edge.targets", "targets"),
                        ("lrf_edge.qemu", "qemu")):
        root = ROOT / folder
        files = [f for f in root.rglob("*") if f.is_file() and f.suffix not in (".py", ".pyc")]
        assert files
        data = {f for p in globs[pkg] for f in root.glob(p)}  # as setuptools globs them
        for f in files:
            assert f in data, f"{f.relative_to(root)} is not package data"
