"""Seed 003's MLP (Dense 256 → 128 → 10), trained with chainrule's native API.

The seed loads MNIST through Keras and trains with a GradientTape. This script builds the same
network with ``chainrule.nn``, trains it with ``optim.Adam`` on cross-entropy and reports the
held-out accuracy. By default it uses the 8×8 digits bundled with scikit-learn (no download);
``--mnist DIR`` trains on MNIST from the four IDX files in DIR instead.

Run: ``python examples/mlp_digits.py`` (a few seconds) or ``python examples/mlp_digits.py --mnist ~/mnist``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim


def load(mnist_dir: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if mnist_dir:
        (x_train, y_train), (x_test, y_test) = data.load_mnist(mnist_dir)
    else:
        images, labels = data.load_digits()
        x_train, x_test, y_train, y_test = data.train_test_split(images, labels, test_size=0.2, seed=0, stratify=labels)
    return x_train, x_test, y_train, y_test


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with cr.no_grad():
        predictions = model(cr.tensor(x)).numpy().argmax(axis=1)
    model.train()
    return float((predictions == y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", metavar="DIR", help="folder with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()

    x_train, x_test, y_train, y_test = load(args.mnist)
    pixels = int(np.prod(x_train.shape[1:]))
    print(f"{len(x_train)} training and {len(x_test)} test images of {pixels} pixels")

    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(pixels, 256, generator=0), nn.ReLU(),
        nn.Linear(256, 128, generator=1), nn.ReLU(),
        nn.Linear(128, 10, generator=2),
    ).to(np.float32)  # fmt: skip
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loader = data.DataLoader(data.TensorDataset(x_train, y_train), batch_size=32, shuffle=True, seed=0)

    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            total += float(loss) * len(labels)
        print(f"epoch {epoch:2d}  loss {total / len(x_train):.4f}  test accuracy {100 * accuracy(model, x_test, y_test):.2f}%")
    print(f"final test accuracy: {100 * accuracy(model, x_test, y_test):.2f}% "
          f"({args.epochs} epochs, {time.perf_counter() - started:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
