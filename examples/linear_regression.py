"""Linear regression by gradient descent, checked against the closed-form least-squares line.

Seed 003 fits y ≈ a·x + b with a GradientTape and hand-written updates. Here the same job uses
chainrule's native training API: an ``nn.Linear(1, 1)`` layer, ``nn.MSELoss`` and
``optim.SGD`` with momentum. Mean squared error is convex in (a, b), so gradient descent must
land on the least-squares solution, which ``np.linalg.lstsq`` computes directly.

Run: ``python examples/linear_regression.py``
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim

TRUE_SLOPE, TRUE_INTERCEPT, NOISE = 6.12, 1.35, 0.5


def make_data(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2.0, n)
    y = TRUE_SLOPE * x + TRUE_INTERCEPT + rng.normal(0.0, NOISE, n)
    return x, y


def main() -> None:
    x, y = make_data()
    print(f"data: {len(x)} points around y = {TRUE_SLOPE}x + {TRUE_INTERCEPT} (noise sd {NOISE})")

    inputs, targets = cr.tensor(x[:, None]), cr.tensor(y[:, None])
    model = nn.Linear(1, 1, generator=0)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(501):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step:4d}  mse {float(loss):.6f}")

    slope, intercept = float(model.weight[0, 0]), float(model.bias[0])
    design = np.stack([x, np.ones_like(x)], axis=1)
    (ls_slope, ls_intercept), *_ = np.linalg.lstsq(design, y, rcond=None)

    print(f"gradient descent: slope {slope:.8f} intercept {intercept:.8f}")
    print(f"least squares:    slope {ls_slope:.8f} intercept {ls_intercept:.8f}")
    print(f"difference:       slope {abs(slope - ls_slope):.2e} intercept {abs(intercept - ls_intercept):.2e}")


if __name__ == "__main__":
    main()
