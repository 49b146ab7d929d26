"""Every IR op has its one home in each stage, and the stages agree on the op families.

The codegen package's docstring ("How to add an op") lists the files a new op touches; this
test is what keeps that list true: an op known to the IR but missing from a stage's table,
or a family file a stage lacks, fails here with the stage named.
"""

from __future__ import annotations

import importlib

import pytest

from lrf_edge.ir.ops import OPS

STAGES = ["lrf_edge.ir.ops", "lrf_edge.train.builders", "lrf_edge.cgen.kernels",
          "lrf_edge.quant.ops"]


def _families(package: str) -> list[str]:
    return [m.__name__.rsplit(".", 1)[1] for m in importlib.import_module(package).MODULES]


@pytest.mark.parametrize("package", STAGES[1:])
def test_each_stage_has_one_module_per_op_family(package):
    assert sorted(_families(package)) == sorted(_families(STAGES[0]))


def test_every_op_has_a_builder_float_and_int8_kernels_and_a_quantizer():
    from lrf_edge.cgen import kernel_table
    from lrf_edge.quant.ops import OPS as QUANT_OPS
    from lrf_edge.train.builders import BUILDERS
    ops = set(OPS) - {"input"}  # the input is made by each stage's driver
    assert ops <= set(BUILDERS), "Keras builder missing"
    assert ops <= set(kernel_table("float32")), "float32 kernel missing"
    assert ops <= set(kernel_table("int8")), "int8 kernel missing"
    assert ops <= set(QUANT_OPS), "int8 quantization missing"


def test_the_add_an_op_list_names_every_stage():
    doc = importlib.import_module("lrf_edge.cgen").__doc__  # the package, not api.codegen
    for path in ("lrf_edge/ir/ops/<family>.py", "lrf_edge/train/builders/<family>.py",
                 "codegen/kernels/<family>.py", "lrf_edge/quant/ops/<family>.py",
                 "templates/<op>.c.j2", "templates/<op>_q8.c.j2"):
        assert path in doc, path
