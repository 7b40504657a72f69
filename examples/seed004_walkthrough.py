"""Seed 004, step by step: reverse mode on f(x, y) = (x + y)**2 + 2xy at x = 2, y = -4.

The tutorial works the chain rule by hand: a = x + y, b = 2xy, f = a**2 + b; df/da = 2a = -4,
da/dx = 1, db/dx = 2y = -8, so df/dx = -4 - 8 = -12 and df/dy = -4 + 4 = 0. Here chainrule
does it for you: the graph with its values and adjoints, the backward pass as the engine runs
it, the Griewank-Walther trace tables, and the tutorial's "why is this gradient None?" cases.

    python examples/seed004_walkthrough.py [--out DIR]     # pictures go to DIR (runs/seed004)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import chainrule as cr
from chainrule import viz
from chainrule.tape import GradientTape, Variable, constant


def walkthrough(out: Path) -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    f = (x + y) ** 2 + 2 * x * y
    names = {x: "x", y: "y"}

    print("== The chain rule, step by step ==")
    print(viz.explain(f, names=names))
    print()
    print("== Evaluation traces (Griewank & Walther) ==")
    print(viz.trace_tables(f, names=names))

    out.mkdir(parents=True, exist_ok=True)
    title = "f(x, y) = (x + y)**2 + 2xy at x = 2, y = -4"
    drawing = viz.draw(f, out / "seed004_graph.svg", names=names, title=title)
    drawing.save(out / "seed004_graph.png")
    (out / "seed004_graph.dot").write_text(drawing.dot)
    print(f"graph written to {out / 'seed004_graph.svg'} (and .png, .dot)")

    f.backward()
    print(f"\nbackward() agrees: df/dx = {x.grad.item():g}, df/dy = {y.grad.item():g}")


def tape_cases() -> None:
    print("\n== The same with a GradientTape, and the tutorial's None gradients explained ==")
    x, y = Variable(2.0, name="x"), Variable(-4.0, name="y")
    with GradientTape() as tape:
        f = (x + y) ** 2 + 2 * x * y
    grads = viz.explain(f, tape=tape).gradients
    print("with a tape:", ", ".join(f"df/d{k} = {float(v):g}" for k, v in grads.items()))

    a = Variable(-2.0, trainable=False, name="x")
    b = constant(1.5)
    with GradientTape() as tape:
        out = (a + b) ** 2 + 2 * a * b
    print("\ntrainable=False and a constant:", tape.gradient(out, [a, b]))
    print("  why (x):", viz.why_none(tape, out, a))
    print("  why (b):", viz.why_none(tape, out, b))

    a = Variable(-2.0, name="x")
    b = Variable(1.5, name="b") + 1.0  # arithmetic outside the tape gives a constant
    with GradientTape() as tape:
        out = (a + b) ** 2 + 2 * a * b
    print("\nVariable(1.5) + 1.0:", tape.gradient(out, [a, b]))
    print("  why (b):", viz.why_none(tape, out, b))

    a, b = Variable(-2.0, name="x"), Variable(1.5, name="b")
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        out = (a + b) ** 2 + 2 * a * b
    print("\nwatch_accessed_variables=False:", tape.gradient(out, [a, b]))
    print("  why (b):", viz.why_none(tape, out, b))

    x = Variable(-2.0, name="x")
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    print("\nfirst gradient:", tape.gradient(f, x))
    try:
        tape.gradient(f, y)
    except RuntimeError as exc:
        print("second gradient:", exc)
        print("  why:", viz.why_none(tape, f, y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/seed004", help="folder for the pictures")
    args = parser.parse_args(argv)
    walkthrough(Path(args.out))
    tape_cases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
