"""`lrf-edge factorize MODEL --layer NAME --method M ...`: apply one LRF solution by hand.

Decomposes the layer's trained weights and writes the whole model, with the layer replaced
by its factorized layers, as a .keras file (trainable, loadable by every command).
"""

from __future__ import annotations

import argparse
import os

from lrf_edge.cli.render import human
from lrf_edge.errors import LrfError
from lrf_edge.frontends import load_model
from lrf_edge.methods import METHODS, applicable, method

HELP = "factorize one layer with a chosen method, shape and rank; write a .keras model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (.keras, .h5, ...)")
    p.add_argument("--layer", required=True, help="name of the layer to factorize")
    p.add_argument("--method", required=True, choices=sorted(METHODS),
                   help="svd, tt (dense); tucker2, cp, svd_conv (conv2d)")
    p.add_argument("--shape", help="tt only: T3F shape, e.g. '7,4,7,4x5,5,3,4' or "
                                   "'[[7,4,7,4],[5,5,3,4]]'")
    p.add_argument("--rank", type=int, help="rank (tt: max_tt_rank) for tt, svd, cp, svd_conv")
    p.add_argument("--ranks", help="tucker2 only: R3,R4 (input-side and output-side ranks)")
    p.add_argument("--order", choices=["rl", "lr"],
                   help="tt only: contraction order (default: the cheaper one)")
    p.add_argument("-o", "--output", required=True, help="output .keras file")


def _solution(mod, node, args: argparse.Namespace):
    name = mod.NAME
    if name != "tt" and (args.shape or args.order):
        raise LrfError("--shape and --order are options of --method tt only")
    if name != "tucker2" and args.ranks:
        raise LrfError("--ranks R3,R4 is an option of --method tucker2 only; "
                       f"use --rank R for {name}")
    if name == "tucker2":
        if not args.ranks:
            raise LrfError("--method tucker2 needs --ranks R3,R4, e.g. --ranks 16,32")
        try:
            ranks = [int(v) for v in args.ranks.split(",")]
        except ValueError:
            raise LrfError(f"cannot read --ranks '{args.ranks}'; write R3,R4, e.g. 16,32") \
                from None
        return mod.solution(node, ranks)
    if args.rank is None:
        raise LrfError(f"--method {name} needs --rank R")
    if name == "tt":
        if not args.shape:
            raise LrfError("--method tt needs --shape, e.g. --shape 7,4,7,4x5,5,3,4")
        return mod.solution(node, args.shape, args.rank, order=args.order)
    return mod.solution(node, args.rank)


def describe(row) -> str:
    names = [n for n in row.dtype.names if n not in ("params", "macs", "flops", "weight_bytes")]
    if "row_dims" in names:
        from lrf_edge.methods.tt import row_parts
        rows, cols, ranks, order = row_parts(row)
        return f"shape [{rows},{cols}] max rank {int(row['max_rank'])} ranks {ranks} " \
               f"order {order}"
    return ", ".join(f"{n} {int(row[n])}" for n in names)


def run(args: argparse.Namespace) -> int:
    if os.path.splitext(args.output)[1].lower() != ".keras":
        raise LrfError(f"output '{args.output}' must end in .keras")
    graph = load_model(args.model)
    node = graph[args.layer]
    mod = method(args.method)
    if not mod.applies(node):
        valid = applicable(node)
        raise LrfError(f"method '{args.method}' does not apply to layer '{node.name}' "
                       f"({node.op}); methods for this layer: {', '.join(valid) or 'none'}")
    row = _solution(mod, node, args)[0]
    nodes = mod.decompose(node, row)
    new = graph.replace(node.name, nodes)

    from lrf_edge.train import to_keras
    model = to_keras(new)
    model.save(args.output)

    after = sum(n.params for n in nodes), sum(n.flops for n in nodes)
    print(f"{node.name}: {args.method} {describe(row)} -> "
          f"{', '.join(n.name for n in nodes)}")
    print(f"layer  params {human(node.params)} -> {human(after[0])} "
          f"({after[0] / node.params:.1%}), FLOPs {human(node.flops)} -> {human(after[1])} "
          f"({after[1] / max(node.flops, 1):.1%})")
    print(f"model  params {human(graph.params)} -> {human(new.params)} "
          f"({new.params / graph.params:.1%}), FLOPs {human(graph.flops)} -> "
          f"{human(new.flops)} ({new.flops / graph.flops:.1%})")
    print(f"wrote {args.output}")
    return 0
