"""Every IR op has its one home in each stage, and an op is named only where it lives.

The codegen package's docstring ("How to add an op family") lists the files a new op
touches; these tests keep that list true. An op known to the IR but missing from a stage's
table, or a family file a stage lacks, fails with the stage named; a file that names an op
outside the list (a stage keeping its own list of op names instead of asking the op's spec,
`lrf_edge.ir.ops.OPS[op]`) fails with the file and the op named.

What "names an op" means, for each op family of `lrf_edge.ir.ops.MODULES` (its op names are
the keys of its SPECS; its family name is its module's name), in the non-test files under
lrf_edge/, codegen/, templates/, targets/ and qemu/:
- Python: a string literal (not a docstring) equal to one of its op names; a string
  literal holding one of its compound names (with a '_' or a digit: depthwise_conv2d,
  tt_dense, max_pool2d, ...) as a whole word (help texts, messages); an identifier equal
  to a compound op or family name; an import of the family's module (`from pkg import
  dense`, `from pkg.dense import x`, `import pkg.dense`).
- "input" and "activation" are also every node's attribute and the C API's/Keras' word for
  the model input, so those two count only as ops: compared with an `op` (`node.op ==
  "activation"`, `op in (...)`), given as the op of a `Node(...)`, or inside a module-level
  UPPER_CASE table (SPECS, OPS, BUILDERS, ...).
- Other files (templates, target TOMLs): a quoted literal ('op' or "op").
- Comments and docstrings are prose and never count. lrf_edge/examples.py and
  lrf_edge/mlperf_tiny.py build Keras models: their strings are Keras layer names.

Bound: each family is named in at most 12 files of the "touches exactly" list, its own
templates (`templates/<op>*.j2`, the C of one layer in its dtypes and modes) counted as one;
the files of the "also" list (the methods that produce or decompose it, the per-op method
choices, another family's module that reuses its code) are listed but counted apart.
"""

from __future__ import annotations

import ast
import functools
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

from lrf_edge.ir.ops import MODULES, OPS

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["lrf_edge.ir.ops", "lrf_edge.train.builders", "lrf_edge.cgen.kernels",
          "lrf_edge.quant.ops"]
SOURCES = ("lrf_edge", "codegen", "templates", "targets", "qemu")
MODEL_ZOO = ("lrf_edge/examples.py", "lrf_edge/mlperf_tiny.py")  # Keras layer names
AMBIGUOUS = ("input", "activation")  # also a node attribute / the API's input
BOUND = 12
FAMILIES = {m.__name__.rsplit(".", 1)[1]: tuple(m.SPECS) for m in MODULES}


def _families(package: str) -> list[str]:
    return [m.__name__.rsplit(".", 1)[1] for m in importlib.import_module(package).MODULES]


@pytest.mark.parametrize("package", STAGES[1:])
def test_each_stage_has_one_module_per_op_family(package):
    assert sorted(_families(package)) == sorted(_families(STAGES[0]))


def test_every_op_has_a_builder_float_and_int8_kernels_and_a_quantizer():
    from lrf_edge.cgen import kernel_table
    from lrf_edge.quant.ops import OPS as QUANT_OPS
    from lrf_edge.train.builders import BUILDERS
    ops = {op for op, spec in OPS.items() if not spec.is_input}  # made by each driver
    assert ops <= set(BUILDERS), "Keras builder missing"
    assert ops <= set(kernel_table("float32")), "float32 kernel missing"
    assert ops <= set(kernel_table("int8")), "int8 kernel missing"
    assert ops <= set(QUANT_OPS), "int8 quantization missing"


# -- which files name which op ---------------------------------------------------------

def _compound(word: str) -> bool:
    return "_" in word or any(ch.isdigit() for ch in word)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants of the module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            out.add(id(node.body[0].value))
    return out


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _is_op(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "op") or \
        (isinstance(node, ast.Name) and node.id == "op")


def _op_context_strings(tree: ast.Module) -> set[str]:
    """Strings used as ops: compared with an op, the op of a Node(...), or in a module-level
    UPPER_CASE table."""
    out: set[str] = set()
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
            [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else []
        if any(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
            out |= _strings(stmt.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_op(s) for s in sides):
                out |= set().union(*(_strings(s) for s in sides if not _is_op(s)))
        elif isinstance(node, ast.Call):
            fn = node.func
            if (fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", "")) == "Node":
                ops = node.args[1:2] + [k.value for k in node.keywords if k.arg == "op"]
                out |= set().union(*(_strings(op) for op in ops))
    return out


def _python_names(text: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """(the string literals that count as ops, the words inside any string literal, the
    identifiers, the imported module names) of a Python source, docstrings left out."""
    tree = ast.parse(text)
    docs = _docstrings(tree)
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                and isinstance(n.value, str) and id(n) not in docs}
    words = {w for s in literals for w in re.findall(r"\w+", s)}
    idents = {t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type == tokenize.NAME}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= set((node.module or "").split(".")) | {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {part for a in node.names for part in a.name.split(".")}
    ops = (literals - set(AMBIGUOUS)) | (_op_context_strings(tree) & set(AMBIGUOUS))
    return ops, words, idents, imported


def _names(path: Path) -> set[str]:
    """The op and family names the file names (see the module doc)."""
    text = path.read_text(errors="replace")
    every = {n for fam, ops in FAMILIES.items() for n in (fam, *ops)}
    if path.suffix != ".py":
        return {op for ops in FAMILIES.values() for op in ops
                if re.search(rf"(['\"]){op}\1", text)}
    literals, words, idents, imported = _python_names(text)
    ops = {op for o in FAMILIES.values() for op in o}
    return (literals & ops) | {w for w in words & ops if _compound(w)} \
        | {i for i in idents & every if _compound(i)} | (imported & set(FAMILIES))


@functools.cache
def naming_files() -> dict[str, set[str]]:
    """family -> the files (repo-relative) that name it."""
    out: dict[str, set[str]] = {fam: set() for fam in FAMILIES}
    for root in SOURCES:
        for path in sorted((ROOT / root).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if not path.is_file() or "__pycache__" in path.parts or rel in MODEL_ZOO \
                    or path.suffix not in (".py", ".j2", ".toml", ".c", ".h"):
                continue
            names = _names(path)
            for fam, ops in FAMILIES.items():
                if names & {fam, *ops}:
                    out[fam].add(rel)
    return out


# -- the documented list -----------------------------------------------------------------

def _pattern(token: str, family: str) -> re.Pattern:
    """A documented path -> a regex for one family: <family>, <op> (any of its op names or
    the family name), <other> (any family), <method> (any module), {a,b} and *."""
    alts = "|".join(map(re.escape, (family, *FAMILIES[family])))
    rx = re.escape(token)
    for key, sub in (("<family>", re.escape(family)), ("<op>", f"(?:{alts})"),
                     ("<other>", "(?:" + "|".join(FAMILIES) + ")"), ("<method>", r"\w+"),
                     (r"\*", r"[^/]*")):
        rx = rx.replace(re.escape(key) if key[0] == "<" else key, sub)
    rx = re.sub(r"\\\{(.*?)\\\}", lambda m: "(?:" + m.group(1).replace(",", "|") + ")", rx)
    return re.compile(rx + "$")


def documented() -> tuple[list[str], list[str]]:
    """The paths of the "touches exactly" list and of the "also" list in lrf_edge.cgen's
    docstring (each list: indented lines, the first word a path with a '/')."""
    doc = importlib.import_module("lrf_edge.cgen").__doc__  # the package, not api.codegen
    lists: list[list[str]] = []
    for block in re.split(r"\n\s*\n", doc):
        lines = [ln.split()[0] for ln in block.splitlines()
                 if re.match(r"    [\w{<][^ ]*/", ln)]
        if lines:
            lists.append(lines)
    assert len(lists) == 2, "expected the 'touches exactly' and the 'also' lists"
    return lists[0], lists[1]


def test_the_documented_patterns_are_well_formed():
    exact, also = documented()
    for token in exact + also:
        assert re.fullmatch(r"[\w/.{},<>*]+", token), token


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_an_op_is_named_only_where_the_add_an_op_list_says(family):
    exact, also = documented()
    files = naming_files()[family]
    homes = {f"lrf_edge/ir/ops/{family}.py", f"lrf_edge/train/builders/{family}.py",
             f"codegen/kernels/{family}.py", f"lrf_edge/quant/ops/{family}.py",
             "lrf_edge/ir/ops/__init__.py", "lrf_edge/train/builders/__init__.py",
             "codegen/kernels/__init__.py", "lrf_edge/quant/ops/__init__.py"}
    assert homes <= files, f"the count misses a home of {family}: {sorted(homes - files)}"
    in_exact = {f for f in files if any(_pattern(t, family).match(f) for t in exact)}
    stray = files - in_exact - {f for f in files
                                if any(_pattern(t, family).match(f) for t in also)}
    assert not stray, f"{family} is named outside lrf_edge.cgen's list: {sorted(stray)}"
    pieces = {"templates" if f.startswith("templates/") else f for f in in_exact}
    assert len(pieces) <= BOUND, f"{family} is named in {len(pieces)} files: {in_exact}"


def test_every_documented_path_names_some_op():
    """The list holds no path that no longer names an op (the doc stays exact both ways)."""
    exact, also = documented()
    files = naming_files()
    for token in exact + also:
        assert any(_pattern(token, fam).match(f) for fam in FAMILIES for f in files[fam]), \
            f"lrf_edge.cgen lists {token}, which names no op"
