"""`lrf-edge factorize MODEL --layer NAME --method M ... -o OUT.keras`: apply one LRF
solution by hand (lrf_edge.api.factorize) and write the whole model as one .keras file.

The solution's options are the methods' Params fields (lrf_edge.methods.options), so a new
method's parameters appear here without a change to this file."""

from __future__ import annotations

import argparse
import os

from lrf_edge.cli.render import human
from lrf_edge.errors import LrfError

HELP = "factorize one layer with a chosen method, shape and rank; write a .keras model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from lrf_edge.methods import METHODS, options
    p.add_argument("model", help="model file (.keras, .h5, ...)")
    p.add_argument("--layer", required=True, help="name of the layer to factorize")
    p.add_argument("--method", required=True, choices=list(METHODS),
                   help="the method (`lrf-edge inspect MODEL` lists those that apply to each "
                        "layer)")
    for opt in options():
        p.add_argument(opt.flag, dest=opt.name, metavar=opt.metavar, help=opt.help)
    p.add_argument("-o", "--output", required=True, help="output .keras file")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import factorize
    if os.path.splitext(args.output)[1].lower() != ".keras":
        raise LrfError(f"output '{args.output}' must end in .keras")
    from lrf_edge.methods import options
    res = factorize(args.model, args.layer, args.method,
                    **{opt.name: getattr(args, opt.name) for opt in options()})
    res.save(args.output)
    l, o = res.layer, res.original
    print(f"{l['layer']}: {l['solution']} -> {', '.join(l['new_layers'])}")
    print(f"layer  params {human(l['params_before'])} -> {human(l['params_after'])} "
          f"({l['params_after'] / l['params_before']:.1%}), FLOPs {human(l['flops_before'])} "
          f"-> {human(l['flops_after'])} ({l['flops_after'] / max(l['flops_before'], 1):.1%})")
    print(f"model  params {human(o['params'])} -> {human(res.params)} "
          f"({res.params / o['params']:.1%}), FLOPs {human(o['flops'])} -> "
          f"{human(res.flops)} ({res.flops / o['flops']:.1%})")
    print(f"wrote {args.output}")
    return 0
