"""Polynomial regression: recover y = 6x² + 8x + 2 from its values at x = 0, 1, ..., 10.

Seed 003 trains three tf.Variables a, b, c on an absolute-error loss with plain updates and
ends near (5.96, 7.59, 2.00). Here a, b and c are chainrule tensors that require grad, the loss
is the mean squared error and ``optim.SGD`` with momentum does the updates: the data are exact,
so the fit recovers 6, 8 and 2.

x² runs up to 100 while 1 stays 1, so the loss is a long, narrow valley in (a, b, c). The model
is therefore written on the rescaled input u = x / 10 (in [0, 1]): y = A·u² + B·u + C, which is
the same polynomial with a = A / 100, b = B / 10, c = C. Gradient descent walks that valley in
a few hundred steps instead of many thousands.

Run: ``python examples/polynomial_regression.py``
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.nn import functional as F


def main() -> None:
    x_train = np.arange(11.0)
    y_train = 6 * x_train**2 + 8 * x_train + 2
    u, y = cr.tensor(x_train / 10.0), cr.tensor(y_train)
    print(f"data: y = 6x^2 + 8x + 2 at x = {x_train.astype(int).tolist()}")

    rng = np.random.default_rng(0)
    a_scaled, b_scaled, c = (cr.tensor(rng.random(), requires_grad=True) for _ in range(3))
    optimizer = optim.SGD([a_scaled, b_scaled, c], lr=1.0, momentum=0.8)
    for step in range(601):
        optimizer.zero_grad()
        loss = F.mse_loss(a_scaled * u**2 + b_scaled * u + c, y)
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            a, b = float(a_scaled) / 100, float(b_scaled) / 10
            print(f"step {step:5d}  mse {float(loss):.3e}  a {a:.6f}  b {b:.6f}  c {float(c):.6f}")

    a, b = float(a_scaled) / 100, float(b_scaled) / 10
    print(f"fitted: y = {a:.6f}x^2 + {b:.6f}x + {float(c):.6f}")
    print("target: y = 6x^2 + 8x + 2")


if __name__ == "__main__":
    main()
