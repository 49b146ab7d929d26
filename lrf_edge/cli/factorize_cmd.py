"""`lrf-edge factorize MODEL --layer NAME --method M ... -o OUT.keras`: apply one LRF
solution by hand (lrf_edge.api.factorize) and write the whole model as one .keras file."""

from __future__ import annotations

import argparse
import os

from lrf_edge.cli.render import human
from lrf_edge.errors import LrfError

HELP = "factorize one layer with a chosen method, shape and rank; write a .keras model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from lrf_edge.methods import METHODS
    p.add_argument("model", help="model file (.keras, .h5, ...)")
    p.add_argument("--layer", required=True, help="name of the layer to factorize")
    p.add_argument("--method", required=True, choices=sorted(METHODS),
                   help="svd, tt (dense layers); tucker2, cp, svd_conv (convolutions)")
    p.add_argument("--shape", help="tt only: T3F shape, e.g. '7,4,7,4x5,5,3,4' or "
                                   "'[[7,4,7,4],[5,5,3,4]]'")
    p.add_argument("--rank", type=int, help="rank (tt: max_tt_rank) for tt, svd, cp, svd_conv")
    p.add_argument("--ranks", help="tucker2 only: R3,R4 (input-side and output-side ranks)")
    p.add_argument("--order", choices=["rl", "lr"],
                   help="tt only: contraction order (default: the cheaper one)")
    p.add_argument("-o", "--output", required=True, help="output .keras file")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import factorize
    if os.path.splitext(args.output)[1].lower() != ".keras":
        raise LrfError(f"output '{args.output}' must end in .keras")
    res = factorize(args.model, args.layer, args.method, shape=args.shape, rank=args.rank,
                    ranks=args.ranks, order=args.order)
    res.save(args.output)
    l, o = res.layer, res.original
    print(f"{l['layer']}: {l['method']} {l['solution']} -> {', '.join(l['new_layers'])}")
    print(f"layer  params {human(l['params_before'])} -> {human(l['params_after'])} "
          f"({l['params_after'] / l['params_before']:.1%}), FLOPs {human(l['flops_before'])} "
          f"-> {human(l['flops_after'])} ({l['flops_after'] / max(l['flops_before'], 1):.1%})")
    print(f"model  params {human(o['params'])} -> {human(res.params)} "
          f"({res.params / o['params']:.1%}), FLOPs {human(o['flops'])} -> "
          f"{human(res.flops)} ({res.flops / o['flops']:.1%})")
    print(f"wrote {args.output}")
    return 0
