"""`make demo`: the seeds' first results computed by chainrule, then the main jobs.

1. dy/dx of x² at 3, the gradient and the Hessian of x1²(x1 + x2) at (2, 3) (seeds 000/001);
2. the seed-004 chain-rule walkthrough and its graph picture (when `chainrule grad` is installed);
3. `chainrule train digits` (when the training command is installed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

import chainrule as cr


def seed_results() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    y = x**2
    y.backward()
    print(f"dy/dx of y = x**2 at x = 3: {x.grad.item():g}")

    x = cr.tensor([2.0, 3.0], requires_grad=True)

    def f(v):
        return v[0] ** 2 * (v[0] + v[1])

    (grad,) = cr.autograd.grad(f(x), x, create_graph=True)
    print(f"gradient of x1**2 (x1 + x2) at (2, 3): {grad.numpy()}")
    rows = [cr.autograd.grad(grad[i], x, retain_graph=True)[0].numpy() for i in range(2)]
    hessian = np.stack(rows)
    print(f"its Hessian:\n{hessian}")
    print(f"eigenvalues of the Hessian: {np.linalg.eigvalsh(hessian)}")


def main() -> int:
    print("== The seeds' first results, computed by chainrule ==")
    seed_results()
    out = Path("runs/demo")
    out.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("chainrule.commands.grad") is not None:
        from chainrule.cli import main as cli

        print("\n== Seed 004: the chain rule, step by step ==")
        code = cli(["grad", "(x + y)**2 + 2*x*y", "x=2", "y=-4", "--explain",
                    "--graph", str(out / "seed004_graph.svg")])  # fmt: skip
        if code:
            return code
        print(f"graph written to {out / 'seed004_graph.svg'}")
    if importlib.util.find_spec("chainrule.commands.train") is not None:
        from chainrule.cli import main as cli

        print("\n== chainrule train digits ==")
        code = cli(["train", "digits", "--out", str(out / "digits")])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
