"""train_digits: one training epoch of an MLP on the 8x8 digits, the job `chainrule train` does.

MLP 64-256-128-10 with ReLU, softmax cross-entropy (mean over the batch) on integer labels, Adam
(lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 64, float32, on the 1,438 training images of the
seeded stratified 80/20 split of scikit-learn's digits (23 steps an epoch, the last one short).
Each epoch draws a new order from a seeded NumPy generator, the same orders for every library;
every step reads the loss back as a Python float, as a training loop that reports it does. All
libraries start from the same weights. Reported in ms per epoch.

The chainrule row runs the loop as ``chainrule train`` does, with BLAS limited to one thread
(threadpoolctl) for these small products: a second OpenBLAS thread gains a little on an idle
machine and loses many times over when another process competes for the cores. The row with BLAS
at the pinned thread count shows the other choice.

The products are small (64x256 at most), so this measures what a training loop costs around
them: data batching, dispatch and recording, the backward sweep, the optimizer's update.

Target (from the issue): chainrule's epoch time <= PyTorch's in the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks import libraries
from benchmarks.timing import CheckFailed, Row, WorkloadResult, run_candidate

__all__ = ["NAME", "TITLE", "run", "SIZES", "BATCH", "digits_split", "initial_parameters", "NumpyAdamMLP"]

NAME = "train_digits"
TITLE = "MLP 64-256-128-10 on the digits, Adam, batch 64, float32: one epoch (23 steps)"

SIZES = (64, 256, 128, 10)
BATCH = 64
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8
SEED = 0
TARGET_RATIO = 1.0  # chainrule / PyTorch, must not exceed


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The training images (flattened, float32 in [0, 1]) and labels of ``chainrule train digits``.

    >>> x, y = digits_split()
    >>> x.shape, x.dtype, y.dtype
    ((1438, 64), dtype('float32'), dtype('int64'))
    """
    from chainrule import data

    images, labels = data.load_digits(flatten=True, dtype=np.float32)
    x_train, _, y_train, _ = data.train_test_split(images, labels, test_size=0.2, seed=SEED, stratify=labels)
    return np.ascontiguousarray(x_train), y_train


def initial_parameters(seed: int = SEED) -> list[np.ndarray]:
    """PyTorch-style initial weights, (out, in) layout: U(-1/sqrt(in), 1/sqrt(in)) for W and b.

    >>> [p.shape for p in initial_parameters()][:2]
    [(256, 64), (256,)]
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params


class EpochOrder:
    """A new permutation of the training set per epoch, from a generator seeded like
    ``chainrule.data.DataLoader(..., shuffle=True, seed=SEED)``'s, so every library (and the
    DataLoader) sees the same batches."""

    def __init__(self, n: int, seed: int = SEED) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)

    def next(self) -> np.ndarray:
        return self.rng.permutation(self.n)


class NumpyAdamMLP:
    """The epoch by hand: float32 forward, fused softmax-cross-entropy backward, Adam in place.

    >>> x, y = digits_split()
    >>> losses = NumpyAdamMLP(initial_parameters(), x, y).epoch()
    >>> len(losses), losses[-1] < losses[0]
    (23, True)
    """

    def __init__(self, params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        # (in, out) layout for x @ W.
        self.params = [p.T.copy() if p.ndim == 2 else p.copy() for p in params]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.x, self.y = x, y
        self.order = EpochOrder(len(x))

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        w1, b1, w2, b2, w3, b3 = self.params
        n = x.shape[0]
        rows = np.arange(n)
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        picked = z[rows, y]
        np.exp(z, out=z)
        total = z.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - picked))
        z /= total
        z[rows, y] -= 1.0
        z *= np.float32(1.0 / n)
        d2 = z @ w3.T
        d2 *= h2 > 0
        d1 = d2 @ w2.T
        d1 *= h1 > 0
        grads = (x.T @ d1, d1.sum(axis=0), h1.T @ d2, d2.sum(axis=0), h2.T @ z, z.sum(axis=0))
        self.t += 1
        step_size = LR / (1.0 - BETA1**self.t)
        root_bc2 = np.sqrt(1.0 - BETA2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= BETA1
            m += (1.0 - BETA1) * g
            v *= BETA2
            v += (1.0 - BETA2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += EPS
            p -= step_size * (m / denom)
        return loss

    def epoch(self) -> list[float]:
        order = self.order.next()
        losses = []
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            losses.append(self.step(self.x[index], self.y[index]))
        return losses


def _setup_numpy(init, x, y) -> Callable[[], list[float]]:
    return NumpyAdamMLP(init, x, y).epoch


def _setup_torch(init, x, y) -> Callable[[], list[float]]:
    torch = libraries.load_torch()
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    )  # fmt: skip
    with torch.no_grad():
        for p, value in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(value))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = EpochOrder(len(x))

    def epoch() -> list[float]:
        # Index tensors slice the in-memory data directly: the fastest way to batch in PyTorch
        # (its DataLoader collates sample by sample, which would only slow it down here).
        perm = torch.from_numpy(order.next())
        losses = []
        for start in range(0, len(perm), BATCH):
            index = perm[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    return epoch


def _setup_chainrule(init, x, y, one_blas_thread: bool) -> Callable[[], list[float]]:
    libraries.load_chainrule()
    from chainrule import data, nn, optim
    from chainrule.commands.train import blas_threads

    model = nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
        nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
        nn.Linear(SIZES[2], SIZES[3]),
    ).to(np.float32)  # fmt: skip
    model.load_state_dict({name: value for (name, _), value in zip(model.named_parameters(), init)})
    optimizer = optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
    loss_fn = nn.CrossEntropyLoss()
    # Same seed, hence the same order per epoch, as EpochOrder: the DataLoader draws from
    # np.random.default_rng(seed), one permutation per epoch.
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=BATCH, shuffle=True, seed=SEED)

    def epoch() -> list[float]:
        losses = []
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
        return losses

    if not one_blas_thread:
        return epoch

    def limited() -> list[float]:
        with blas_threads(1):
            return epoch()

    return limited


@dataclass
class _Reference:
    losses: list[float]


def run(quick: bool = False) -> WorkloadResult:
    """Check each library's first epoch against the NumPy one, then time epochs."""
    try:
        x, y = digits_split()
    except ImportError as error:
        rows = [Row(name, None, f"n/a: {error}") for name in ("NumPy (by hand)", "PyTorch", "chainrule")]
        return WorkloadResult(name=NAME, title=TITLE, unit="ms/epoch", scale=1e3, rows=rows,
                              ratio_to=["PyTorch"], target="chainrule <= PyTorch per epoch",
                              target_line="cannot check: the digits need scikit-learn")  # fmt: skip
    init = initial_parameters()
    reference = _Reference(NumpyAdamMLP(init, x, y).epoch())

    def check(epoch: Callable[[], list[float]]) -> None:
        # The first epoch, from the same weights over the same batches: its 23 losses must
        # follow the hand-written run's (float32 rounding differs between kernels, Adam's first
        # steps normalise tiny gradients, so allow 1e-3 relative; a wrong gradient, update or
        # batch order is off by far more).
        losses = epoch()
        if len(losses) != len(reference.losses):
            raise CheckFailed(f"{len(losses)} steps in an epoch, expected {len(reference.losses)}")
        got, want = np.asarray(losses), np.asarray(reference.losses)
        if not np.allclose(got, want, rtol=1e-3, atol=1e-4):
            worst = int(np.argmax(np.abs(got - want)))
            raise CheckFailed(f"loss at step {worst} is {got[worst]:.6g}, the reference {want[worst]:.6g}")

    pending = (AttributeError, TypeError, NotImplementedError)
    # NumPy-based rows first: PyTorch's thread pool keeps spinning for a while after it ran,
    # which on a small machine slows whatever BLAS call comes next.
    candidates = [
        ("NumPy (by hand)", lambda: _setup_numpy(init, x, y), (), "the floor: no framework"),
        ("chainrule", lambda: _setup_chainrule(init, x, y, True), pending,
         "nn + optim + DataLoader; 1 BLAS thread, as `chainrule train` runs"),
        ("chainrule (BLAS at the pinned count)", lambda: _setup_chainrule(init, x, y, False), pending,
         "same loop; fast when idle, stalls on a busy machine"),
        ("PyTorch", lambda: _setup_torch(init, x, y), (), "index-tensor batches"),
    ]  # fmt: skip
    rows: list[Row] = []
    for library, setup, pending_on, note in candidates:
        rows.append(run_candidate(library, setup, check, quick=quick, note=note, pending_on=pending_on))

    result = WorkloadResult(
        name=NAME, title=TITLE, unit="ms/epoch", scale=1e3, rows=rows,
        ratio_to=["NumPy (by hand)", "PyTorch"],
        target=f"chainrule <= {TARGET_RATIO:.2f}x PyTorch per epoch",
    )  # fmt: skip
    mine, theirs = result.row("chainrule"), result.row("PyTorch")
    if mine and theirs and mine.seconds and theirs.seconds:
        ratio = mine.seconds / theirs.seconds
        result.target_met = ratio <= TARGET_RATIO
        result.target_line = f"chainrule / PyTorch = {ratio:.2f}x per epoch -> {'MET' if result.target_met else 'NOT MET'}"
    else:
        result.target_line = "cannot check: chainrule or PyTorch row missing"
    result.details.append(
        f"{len(x)} training images, {len(reference.losses)} steps an epoch; first-epoch loss "
        f"{reference.losses[0]:.4f} -> {reference.losses[-1]:.4f}; every row's 23 first-epoch losses "
        "checked against the NumPy run (rtol 1e-3); the models keep training across timed epochs"
    )
    return result
