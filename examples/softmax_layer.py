"""Seed 001's softmax layer: gradients of a cross-entropy loss with respect to w and b.

Two samples with four features each and target probabilities over three classes go through
logits = x @ w + b and a cross-entropy loss computed from the logits. chainrule's backward pass
gives dL/dw and dL/db; they are compared with the closed form: for the mean cross-entropy over
N samples, dL/dlogits = (softmax(logits) - y) / N, so dL/dw = xᵀ·that and dL/db its column sum.
Then the same layer as ``nn.Linear(4, 3)`` is trained for a few steps.

Run: ``python examples/softmax_layer.py``
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim

x_data = [[-2.0, 2.0, 2.0, -2.0], [2.1, 1.0, 1.5, -1.0]]  # input
y_data = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # expected output (probabilities)


def closed_form(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = x @ w + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = (p - y) / len(x)
    return x.T @ d_logits, d_logits.sum(axis=0)


def main() -> None:
    x, y = cr.tensor(x_data), cr.tensor(y_data)
    cr.random.seed(0)
    w = cr.random.normal(size=(4, 3), requires_grad=True)
    b = cr.zeros(3, requires_grad=True)

    logits = x @ w + b
    loss = cr.cross_entropy(logits, y)
    loss.backward()
    print(f"loss: {float(loss):.6f}   grad_fn: {loss.grad_fn.prim.grad_fn_name}")
    print(f"w.shape {w.shape}  dL/dw.shape {w.grad.shape}")
    print(f"b.shape {b.shape}  dL/db.shape {b.grad.shape}")
    print("dL/dw =")
    print(w.grad.numpy())
    print(f"dL/db = {b.grad.numpy()}")

    dw, db = closed_form(np.array(x_data), np.array(y_data), w.numpy(), b.numpy())
    print(f"max |dL/dw - closed form| = {np.abs(w.grad.numpy() - dw).max():.3e}")
    print(f"max |dL/db - closed form| = {np.abs(b.grad.numpy() - db).max():.3e}")

    # The same layer as a module, trained on the two samples.
    layer = nn.Linear(4, 3, generator=0)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(layer.parameters(), lr=0.5)
    first = None
    for step in range(21):
        optimizer.zero_grad()
        loss = loss_fn(layer(x), y)
        loss.backward()
        optimizer.step()
        first = float(loss) if first is None else first
        if step % 5 == 0:
            print(f"step {step:2d}  loss {float(loss):.6f}")
    probabilities = cr.softmax(layer(x), axis=-1).numpy()
    print(f"loss went from {first:.6f} to {float(loss):.6f}")
    print(f"predicted probabilities of the target classes: {probabilities[0, 0]:.4f} {probabilities[1, 1]:.4f}")


if __name__ == "__main__":
    main()
