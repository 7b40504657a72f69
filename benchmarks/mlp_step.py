"""mlp_step: one SGD training step of a small float32 MLP.

MLP 784-256-128-10 with ReLU, softmax cross-entropy (mean over the batch) on integer class labels,
batch 128, float32; the work is forward + backward + SGD update (lr 0.01) of all six parameters.
Synthetic, seeded data; every library starts from the same weights. Reported in ms per step.

The matrix products dominate (about 70 MFLOP a step), so this measures whether a library adds
copies, dtype promotions or slow kernels around them rather than Python overhead per op.

Target (from the issue): chainrule <= 1.10x the hand-written NumPy step; aim for PyTorch's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks import jit_forms, libraries
from benchmarks.timing import CheckFailed, Row, WorkloadResult, compare_arrays, run_candidate

__all__ = ["NAME", "TITLE", "run", "SIZES", "initial_parameters", "numpy_step"]

NAME = "mlp_step"
TITLE = "MLP 784-256-128-10, ReLU, softmax CE, batch 128, float32: forward + backward + SGD"

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.01
TARGET_RATIO = 1.10  # chainrule / NumPy by hand, must not exceed


def initial_parameters(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """He-initialised weights, small random biases, one batch of inputs and integer labels.

    >>> params, x, y = initial_parameters()
    >>> [p.shape for p in params[:2]], x.dtype, y.dtype
    ([(784, 256), (256,)], dtype('float32'), dtype('int64'))
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32))
        params.append((rng.standard_normal(fan_out) * 0.01).astype(np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return params, x, y


@dataclass
class Trainer:
    """A library's step (returns the loss) and a way to read its parameters back as NumPy arrays."""

    step: Callable[[], object]
    parameters: Callable[[], list[np.ndarray]]
    loss_value: Callable[[object], float]


def numpy_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """One SGD step by hand-written backprop, updating ``params`` in place; returns the loss.

    Careful and fair: float32 throughout, the softmax and cross-entropy backward fused into
    ``(softmax - onehot) / batch``, ReLU applied and masked in place, parameters updated in place.

    >>> params, x, y = initial_parameters()
    >>> before = params[0].copy()
    >>> loss = numpy_step(params, x, y)
    >>> bool(loss > 0) and not np.array_equal(before, params[0])
    True
    """
    w1, b1, w2, b2, w3, b3 = params
    batch = x.shape[0]
    rows = np.arange(batch)
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
    # d loss / d logits = (softmax - onehot) / batch, computed in the softmax's buffer.
    z *= (1.0 / total).astype(np.float32)
    z[rows, y] -= 1.0
    z *= np.float32(1.0 / batch)
    g_w3 = h2.T @ z
    g_b3 = z.sum(axis=0)
    d2 = z @ w3.T
    d2 *= h2 > 0
    g_w2 = h1.T @ d2
    g_b2 = d2.sum(axis=0)
    d1 = d2 @ w2.T
    d1 *= h1 > 0
    g_w1 = x.T @ d1
    g_b1 = d1.sum(axis=0)
    lr = np.float32(LR)
    for param, grad in zip(params, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3)):
        grad *= lr
        param -= grad
    return loss


def _setup_numpy(init, x, y) -> Trainer:
    params = [p.copy() for p in init]
    return Trainer(lambda: numpy_step(params, x, y), lambda: [p.copy() for p in params], float)


def _setup_torch(init, x, y) -> Trainer:
    torch = libraries.load_torch()
    functional = torch.nn.functional
    params = [torch.tensor(p, requires_grad=True) for p in init]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h1 = torch.relu(xt @ w1 + b1)
        h2 = torch.relu(h1 @ w2 + b2)
        loss = functional.cross_entropy(h2 @ w3 + b3, yt)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
                p.grad = None
        return loss

    return Trainer(step, lambda: [p.detach().numpy().copy() for p in params], lambda v: v.item())


def _setup_autograd(init, x, y) -> Trainer:
    autograd = libraries.load_autograd()
    anp = autograd.numpy
    logsumexp = autograd.scipy.special.logsumexp
    rows = np.arange(x.shape[0])

    def loss_fn(params):
        w1, b1, w2, b2, w3, b3 = params
        # `@` (autograd's matmul VJP) rather than anp.dot, whose tensordot VJP is ~1.7x slower.
        h1 = anp.maximum(x @ w1 + b1, 0.0)
        h2 = anp.maximum(h1 @ w2 + b2, 0.0)
        z = h2 @ w3 + b3
        return anp.mean(logsumexp(z, axis=1) - z[rows, y])

    value_and_grad = autograd.value_and_grad(loss_fn)
    params = [p.copy() for p in init]
    lr = np.float32(LR)

    def step():
        loss, grads = value_and_grad(params)
        for p, g in zip(params, grads):
            p -= lr * g
        return loss

    return Trainer(step, lambda: [p.copy() for p in params], float)


def _jax_loss(jax):
    jnp = jax.numpy
    logsumexp = jax.scipy.special.logsumexp

    def loss_fn(params, x, y):
        w1, b1, w2, b2, w3, b3 = params
        h1 = jax.nn.relu(x @ w1 + b1)
        h2 = jax.nn.relu(h1 @ w2 + b2)
        z = h2 @ w3 + b3
        picked = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.mean(logsumexp(z, axis=1) - picked)

    return loss_fn


def _setup_jax(init, x, y, jit: bool) -> Trainer:
    jax = libraries.load_jax()
    jnp = jax.numpy
    value_and_grad = jax.value_and_grad(_jax_loss(jax))

    def sgd(params, x, y):
        loss, grads = value_and_grad(params, x, y)
        return loss, [p - LR * g for p, g in zip(params, grads)]

    if jit:
        sgd = jax.jit(sgd, donate_argnums=0)
    state = {"params": [jnp.asarray(p) for p in init]}
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def step():
        loss, state["params"] = sgd(state["params"], xj, yj)
        jax.block_until_ready(state["params"])
        return loss

    if jit:  # compile outside the timing, on throwaway copies of the parameters
        jax.block_until_ready(sgd([jnp.asarray(p) for p in init], xj, yj))
    return Trainer(step, lambda: [np.asarray(p).copy() for p in state["params"]], float)


def _setup_chainrule(init, x, y) -> Trainer:
    cr = libraries.load_chainrule()
    # Resolve every name first, so a missing op reads "pending: <name>" rather than a traceback.
    relu, cross_entropy, no_grad = cr.relu, cr.cross_entropy, cr.no_grad
    for method in ("__matmul__", "sub_"):
        if not hasattr(cr.Tensor, method):
            raise AttributeError(f"Tensor.{method} missing", name=f"Tensor.{method}")
    params = [cr.tensor(p.copy(), requires_grad=True) for p in init]
    xc, yc = cr.tensor(x), cr.tensor(y)
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h1 = relu(xc @ w1 + b1)
        h2 = relu(h1 @ w2 + b2)
        loss = cross_entropy(h2 @ w3 + b3, yc)
        loss.backward()
        with no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
                p.grad = None
        return loss

    return Trainer(step, lambda: [p.numpy().copy() for p in params], lambda v: float(v.item()))


def reference() -> tuple[list[np.ndarray], np.ndarray, np.ndarray, float, list[np.ndarray]]:
    """The data, NumPy's first-step loss and the gradients that step applied."""
    init, x, y = initial_parameters()
    ref_params = [p.copy() for p in init]
    ref_loss = numpy_step(ref_params, x, y)
    # What the step subtracted, divided by lr: the gradient, compared with a tolerance fit for
    # float32 (summation order differs between BLAS kernels) but far tighter than any real bug.
    ref_grads = [(a - b) / LR for a, b in zip(init, ref_params)]
    return init, x, y, ref_loss, ref_grads


def checked(setup: Callable[[], Trainer], init: list[np.ndarray], ref_loss: float,
            ref_grads: list[np.ndarray]) -> tuple[Callable[[], Callable[[], object]], Callable[[Callable[[], object]], None]]:  # fmt: skip
    """``(build, check)`` for ``run_candidate``: the check compares the first step with NumPy's."""
    holder: dict[str, Trainer] = {}

    def build() -> Callable[[], object]:
        holder["trainer"] = setup()
        return holder["trainer"].step

    def check(step: Callable[[], object]) -> None:
        trainer = holder["trainer"]
        loss = trainer.loss_value(step())
        if not np.isclose(loss, ref_loss, rtol=1e-4):
            raise CheckFailed(f"loss {loss:.6g} != reference {ref_loss:.6g}")
        names = ("dW1", "db1", "dW2", "db2", "dW3", "db3")
        for name, before, after, want in zip(names, init, trainer.parameters(), ref_grads):
            if after.dtype != np.float32:
                raise CheckFailed(f"{name[1:]} became {after.dtype}, expected float32")
            scale = float(np.max(np.abs(want)))
            compare_arrays(name, (before - after) / LR, want, rtol=1e-2, atol=1e-2 * scale)

    return build, check


def run(quick: bool = False) -> WorkloadResult:
    """Check every library's first step against NumPy's, then time steps."""
    init, x, y, ref_loss, ref_grads = reference()

    def as_check(setup: Callable[[], Trainer]):
        return checked(setup, init, ref_loss, ref_grads)

    pending = (AttributeError, TypeError, NotImplementedError)
    # NumPy-based rows first: PyTorch's OpenMP and XLA's thread pools keep spinning for a while
    # after they ran, which on a small machine slows the next BLAS call.
    candidates = [
        ("NumPy (by hand)", lambda: _setup_numpy(init, x, y), (), "the reference"),
        ("chainrule", lambda: _setup_chainrule(init, x, y), pending, ""),
        ("chainrule (jit)", lambda: jit_forms.mlp_step(init, x, y), pending, "cr.jit(step): one program"),
        ("HIPS autograd", lambda: _setup_autograd(init, x, y), (), ""),
        ("PyTorch", lambda: _setup_torch(init, x, y), (), ""),
        ("JAX (eager)", lambda: _setup_jax(init, x, y, jit=False), (), ""),
        ("JAX (jit)", lambda: _setup_jax(init, x, y, jit=True), (), "whole step compiled"),
    ]
    rows: list[Row] = []
    for library, setup, pending_on, note in candidates:
        build, check = as_check(setup)
        rows.append(run_candidate(library, build, check, quick=quick, note=note,
                                  pending_on=pending_on))

    result = WorkloadResult(
        name=NAME, title=TITLE, unit="ms/step", scale=1e3, rows=rows,
        ratio_to=["NumPy (by hand)", "PyTorch"],
        target=f"chainrule <= {TARGET_RATIO:.2f}x NumPy by hand (aim: PyTorch's time)",
    )
    mine, floor, torch_row = result.row("chainrule"), result.row("NumPy (by hand)"), result.row("PyTorch")
    if mine and floor and mine.seconds and floor.seconds:
        ratio = mine.seconds / floor.seconds
        result.target_met = ratio <= TARGET_RATIO
        aim = ""
        if torch_row and torch_row.seconds:
            vs_torch = mine.seconds / torch_row.seconds
            aim = f" ({vs_torch:.2f}x PyTorch: aim {'reached' if vs_torch <= 1.0 else 'not reached'})"
        result.target_line = (
            f"chainrule / NumPy = {ratio:.2f}x -> {'MET' if result.target_met else 'NOT MET'}{aim}"
        )
    else:
        result.target_line = "cannot check: chainrule or NumPy row missing"
    result.details.append(
        f"first-step loss {ref_loss:.4f}; every row's loss and gradients checked against NumPy's "
        "(float32, rtol 1e-2); parameters keep training across timed steps"
    )
    return result
