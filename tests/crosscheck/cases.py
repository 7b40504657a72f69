"""The composite functions cross-checked against PyTorch.

Each case is a builder ``build(rng) -> (inputs, f_cr, f_torch)``: ``inputs`` are the float64 NumPy
arrays the function is differentiated with respect to; ``f_cr`` computes the function with
chainrule's native API and ``f_torch`` the same function with PyTorch, one positional argument per
input (constants such as targets, masks and class indices are closed over). The two are written
independently; the value test proves they compute the same thing before derivatives are compared.

Inputs are drawn inside each op's domain and away from kinks and ties (ReLU pre-activations,
max-pool windows and maximum/clip thresholds are kept at a distance from their switching points),
so both libraries differentiate the same smooth piece.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import chainrule as cr  # noqa: E402

__all__ = ["Case", "CASES"]

Built = tuple[list[np.ndarray], Callable[..., Any], Callable[..., Any]]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[np.random.Generator], Built]
    #: Compare Hessians too (scalar functions with few inputs only).
    hessian: bool = False
    rtol: float = 1e-9
    atol: float = 1e-10
    #: A known chainrule bug this case exposes: its derivative tests are expected to fail
    #: (strictly) until the fix lands. The value test must still pass.
    xfail: str = ""


CASES: list[Case] = []


def case(
    hessian: bool = False, rtol: float = 1e-9, atol: float = 1e-10, xfail: str = ""
) -> Callable[[Any], Any]:
    def register(
        build: Callable[[np.random.Generator], Built],
    ) -> Callable[[np.random.Generator], Built]:
        CASES.append(Case(build.__name__, build, hessian, rtol, atol, xfail))
        return build

    return register


# ---------------------------------------------------------------- helpers
def C(a: Any) -> Any:
    """A chainrule constant."""
    return cr.tensor(np.asarray(a))


def T(a: Any) -> Any:
    """A torch constant."""
    return torch.from_numpy(np.array(a))


def away_from(
    rng: np.random.Generator, shape: Any, gap: float = 0.15, scale: float = 1.0
) -> np.ndarray:
    """Normal draws whose magnitude is at least ``gap`` (away from the kink at zero)."""
    x = rng.standard_normal(shape) * scale
    return np.where(np.abs(x) < gap, np.sign(x + 1e-12) * (gap + np.abs(x)), x)


def distinct(rng: np.random.Generator, shape: Any, spacing: float = 0.05) -> np.ndarray:
    """Values centred on 0 with every pair at least ``spacing`` apart (no ties for max/min/pool)."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - (n - 1) / 2) * spacing + rng.uniform(-spacing / 4, spacing / 4, n)
    return rng.permutation(vals).reshape(shape)


def spd(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, n))
    return m @ m.T / n + np.eye(n)


def _mlp_params(rng: np.random.Generator, sizes: list[int]) -> list[np.ndarray]:
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        out += [rng.standard_normal((a, b)) / math.sqrt(a), rng.standard_normal(b) * 0.1]
    return out


# ================================================================ MLP losses
@case(hessian=True)
def mlp_tanh_mse(rng):
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    cx, cy, tx, ty = C(x), C(y), T(x), T(y)

    def f_cr(w1, b1, w2, b2):
        return cr.mse(cr.tanh(cx @ w1 + b1) @ w2 + b2, cy)

    def f_torch(w1, b1, w2, b2):
        return F.mse_loss(torch.tanh(tx @ w1 + b1) @ w2 + b2, ty)

    return _mlp_params(rng, [3, 4, 2]), f_cr, f_torch


@case(hessian=True)
def mlp_relu_mse_sum(rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    w1 = rng.standard_normal((3, 4))
    b1 = rng.standard_normal(4) * 0.1
    while np.min(np.abs(x @ w1 + b1)) < 0.05:  # keep every pre-activation away from the kink
        b1 = rng.standard_normal(4) * 0.1
    cx, cy, tx, ty = C(x), C(y), T(x), T(y)

    def f_cr(w1, b1, w2, b2):
        return cr.mse(cr.relu(cx @ w1 + b1) @ w2 + b2, cy, reduction="sum")

    def f_torch(w1, b1, w2, b2):
        return F.mse_loss(torch.relu(tx @ w1 + b1) @ w2 + b2, ty, reduction="sum")

    return [w1, b1, rng.standard_normal((4, 2)), rng.standard_normal(2)], f_cr, f_torch


@case(hessian=True)
def mlp_gelu_cross_entropy_indices(rng):
    x, labels = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    cx, cl, tx, tl = C(x), C(labels), T(x), T(labels)

    def f_cr(w1, b1, w2, b2):
        return cr.cross_entropy(cr.gelu(cx @ w1 + b1) @ w2 + b2, cl)

    def f_torch(w1, b1, w2, b2):
        return F.cross_entropy(F.gelu(tx @ w1 + b1) @ w2 + b2, tl)

    return _mlp_params(rng, [3, 5, 4]), f_cr, f_torch


@case(hessian=True)
def mlp_tanh_cross_entropy_probabilities(rng):
    x = rng.standard_normal((5, 3))
    p = rng.uniform(0.1, 1.0, (5, 4))
    p /= p.sum(1, keepdims=True)
    cx, cp, tx, tp = C(x), C(p), T(x), T(p)

    def f_cr(w1, b1, w2, b2):
        return cr.cross_entropy(cr.tanh(cx @ w1 + b1) @ w2 + b2, cp)

    def f_torch(w1, b1, w2, b2):
        return F.cross_entropy(torch.tanh(tx @ w1 + b1) @ w2 + b2, tp)

    return _mlp_params(rng, [3, 4, 4]), f_cr, f_torch


@case(hessian=True)
def mlp_three_layers_sigmoid_softplus_ce_sum(rng):
    x, labels = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    cx, cl, tx, tl = C(x), C(labels), T(x), T(labels)

    def f_cr(w1, b1, w2, b2, w3, b3):
        h = cr.sigmoid(cx @ w1 + b1)
        h = cr.softplus(h @ w2 + b2)
        return cr.cross_entropy(h @ w3 + b3, cl, reduction="sum")

    def f_torch(w1, b1, w2, b2, w3, b3):
        h = torch.sigmoid(tx @ w1 + b1)
        h = F.softplus(h @ w2 + b2)
        return F.cross_entropy(h @ w3 + b3, tl, reduction="sum")

    return _mlp_params(rng, [3, 4, 3, 3]), f_cr, f_torch


@case(hessian=True)
def mlp_leaky_relu_l2_regularised(rng):
    x, y = rng.standard_normal((4, 2)), rng.standard_normal(4)
    w1 = away_from(rng, (2, 3), 0.3)
    x = away_from(rng, (4, 2), 0.3)
    assert np.all(np.abs(x @ w1) > 1e-3)
    cx, cy, tx, ty = C(x), C(y), T(x), T(y)

    def f_cr(w1, w2):
        pred = cr.leaky_relu(cx @ w1, 0.1) @ w2
        return cr.mean((pred - cy) ** 2) + 0.01 * cr.sum(w1 * w1) + 0.01 * cr.sum(w2**2)

    def f_torch(w1, w2):
        pred = F.leaky_relu(tx @ w1, 0.1) @ w2
        return torch.mean((pred - ty) ** 2) + 0.01 * torch.sum(w1 * w1) + 0.01 * torch.sum(w2**2)

    return [w1, rng.standard_normal(3)], f_cr, f_torch


@case(hessian=True)
def logistic_regression_bce_with_logits(rng):
    x = rng.standard_normal((6, 3))
    y = (rng.uniform(size=6) > 0.5).astype(np.float64)
    cx, cy, tx, ty = C(x), C(y), T(x), T(y)

    def f_cr(w, b):
        return cr.binary_cross_entropy_with_logits(cx @ w + b, cy)

    def f_torch(w, b):
        return F.binary_cross_entropy_with_logits(tx @ w + b, ty)

    return [rng.standard_normal(3), rng.standard_normal(())], f_cr, f_torch


@case()
def cross_entropy_per_sample(rng):
    labels = rng.integers(0, 4, 3)
    cl, tl = C(labels), T(labels)

    def f_cr(logits):
        return cr.cross_entropy(logits, cl, reduction="none")

    def f_torch(logits):
        return F.cross_entropy(logits, tl, reduction="none")

    return [rng.standard_normal((3, 4)) * 2], f_cr, f_torch


@case(hessian=True)
def nll_from_log_softmax_and_gather(rng):
    labels = rng.integers(0, 4, (3, 1))
    cl, tl = C(labels), T(labels)

    def f_cr(logits):
        return -cr.mean(cr.take_along_axis(cr.log_softmax(logits, axis=1), cl, axis=1))

    def f_torch(logits):
        return -torch.mean(torch.gather(torch.log_softmax(logits, dim=1), 1, tl))

    return [rng.standard_normal((3, 4))], f_cr, f_torch


@case(hessian=True)
def cross_entropy_classes_on_axis_1_of_3d(rng):
    # Sequence logits (batch, classes, time), as PyTorch lays them out.
    labels = rng.integers(0, 3, (2, 4))
    cl, tl = C(labels), T(labels)

    def f_cr(logits):
        return cr.cross_entropy(logits, cl, axis=1)

    def f_torch(logits):
        return F.cross_entropy(logits, tl)

    return [rng.standard_normal((2, 3, 4))], f_cr, f_torch


# ================================================================ attention
@case()
def attention_softmax_qk_v(rng):
    d = 4

    def f_cr(q, k, v):
        return cr.softmax(q @ cr.transpose(k) / math.sqrt(d), axis=-1) @ v

    def f_torch(q, k, v):
        return torch.softmax(q @ k.T / math.sqrt(d), dim=-1) @ v

    return (
        [rng.standard_normal((3, d)), rng.standard_normal((5, d)), rng.standard_normal((5, 2))],
        f_cr,
        f_torch,
    )


@case(hessian=True)
def causal_attention_loss(rng):
    mask = np.tril(np.ones((3, 3), dtype=bool))
    cm, tm = C(mask), T(mask)

    def f_cr(q, k, v):
        scores = cr.where(cm, q @ k.T / 2.0, -1e9)
        return cr.sum(cr.softmax(scores, axis=1) @ v) ** 2

    def f_torch(q, k, v):
        scores = torch.where(tm, q @ k.T / 2.0, -1e9)
        return torch.sum(torch.softmax(scores, dim=1) @ v) ** 2

    return (
        [rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))],
        f_cr,
        f_torch,
    )


@case()
def multihead_attention_einsum(rng):
    # (batch, heads, seq, dim) via einsum, then an output projection.
    def f_cr(q, k, v, wo):
        s = cr.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(2)
        o = cr.einsum("bhqk,bhkd->bqhd", cr.softmax(s, axis=-1), v)
        return cr.reshape(o, (1, 3, 4)) @ wo

    def f_torch(q, k, v, wo):
        s = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(2)
        o = torch.einsum("bhqk,bhkd->bqhd", torch.softmax(s, dim=-1), v)
        return o.reshape(1, 3, 4) @ wo

    shape = (1, 2, 3, 2)
    return [rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape),
            rng.standard_normal((4, 2))], f_cr, f_torch  # fmt: skip


# ================================================================ linear algebra
@case(hessian=True, rtol=1e-8)
def logdet_of_gram_matrix(rng):
    def f_cr(x):
        sign, logabsdet = cr.slogdet(cr.transpose(x) @ x + 0.1 * cr.eye(3))
        return logabsdet

    def f_torch(x):
        sign, logabsdet = torch.linalg.slogdet(x.T @ x + 0.1 * torch.eye(3, dtype=x.dtype))
        return logabsdet

    return [rng.standard_normal((5, 3))], f_cr, f_torch


@case(hessian=True, rtol=1e-8)
def det_of_small_matrix(rng):
    def f_cr(a):
        return cr.det(a) * cr.sum(a)

    def f_torch(a):
        return torch.linalg.det(a) * torch.sum(a)

    return [rng.standard_normal((3, 3)) + 2 * np.eye(3)], f_cr, f_torch


@case(hessian=True, rtol=1e-8)
def quadratic_form_via_solve(rng):
    def f_cr(m, b):
        a = m @ cr.transpose(m) + cr.eye(3)
        return cr.sum(b * cr.solve(a, b))

    def f_torch(m, b):
        a = m @ m.T + torch.eye(3, dtype=m.dtype)
        return torch.sum(b * torch.linalg.solve(a, b))

    return [rng.standard_normal((3, 3)), rng.standard_normal(3)], f_cr, f_torch


@case(hessian=True, rtol=1e-8)
def trace_of_inverse_times_matrix(rng):
    def f_cr(a, b):
        return cr.trace(cr.inv(a) @ b)

    def f_torch(a, b):
        return torch.trace(torch.linalg.inv(a) @ b)

    return (
        [spd(rng, 3) + rng.standard_normal((3, 3)) * 0.2, rng.standard_normal((3, 3))],
        f_cr,
        f_torch,
    )


@case(rtol=1e-8)
def inverse_matrix(rng):
    def f_cr(a):
        return cr.inv(a)

    def f_torch(a):
        return torch.linalg.inv(a)

    return [rng.standard_normal((3, 3)) + 3 * np.eye(3)], f_cr, f_torch


@case(hessian=True, rtol=1e-8)
def gaussian_log_likelihood_cholesky(rng):
    n = 3
    x = rng.standard_normal(n)
    cx, tx = C(x), T(x)

    def f_cr(m, mu):
        cov = m @ cr.transpose(m) + 0.5 * cr.eye(n)
        chol = cr.cholesky(cov)
        alpha = cr.solve(chol, cx - mu)
        return (-0.5 * cr.sum(alpha**2) - cr.sum(cr.log(cr.diagonal(chol)))
                - 0.5 * n * math.log(2 * math.pi))  # fmt: skip

    def f_torch(m, mu):
        cov = m @ m.T + 0.5 * torch.eye(n, dtype=m.dtype)
        chol = torch.linalg.cholesky(cov)
        alpha = torch.linalg.solve(chol, tx - mu)
        return (-0.5 * torch.sum(alpha**2) - torch.sum(torch.log(torch.diagonal(chol)))
                - 0.5 * n * math.log(2 * math.pi))  # fmt: skip

    return [rng.standard_normal((n, n)), rng.standard_normal(n)], f_cr, f_torch


@case(rtol=1e-8)
def cholesky_factor_of_spd(rng):
    def f_cr(m):
        return cr.cholesky(m @ cr.transpose(m) + cr.eye(3))

    def f_torch(m):
        return torch.linalg.cholesky(m @ m.T + torch.eye(3, dtype=m.dtype))

    return [rng.standard_normal((3, 3))], f_cr, f_torch


@case(rtol=1e-8)
def ridge_regression_solution(rng):
    lam = 0.3

    def f_cr(x, y):
        return cr.solve(cr.transpose(x) @ x + lam * cr.eye(2), cr.transpose(x) @ y)

    def f_torch(x, y):
        return torch.linalg.solve(x.T @ x + lam * torch.eye(2, dtype=x.dtype), x.T @ y)

    return [rng.standard_normal((5, 2)), rng.standard_normal(5)], f_cr, f_torch


@case(rtol=1e-8)
def batched_solve_with_matrix_rhs(rng):
    def f_cr(a, b):
        return cr.solve(a, b)

    def f_torch(a, b):
        return torch.linalg.solve(a, b)

    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    return [a, rng.standard_normal((2, 3, 2))], f_cr, f_torch


@case(hessian=True, rtol=1e-8)
def mahalanobis_with_inverse_and_outer(rng):
    def f_cr(a, u, v):
        return cr.dot(u, cr.inv(a + cr.outer(u, v)) @ v)

    def f_torch(a, u, v):
        return torch.dot(u, torch.linalg.inv(a + torch.outer(u, v)) @ v)

    return [spd(rng, 3), rng.standard_normal(3) * 0.3, rng.standard_normal(3) * 0.3], f_cr, f_torch


# ================================================================ polynomial fits
@case(hessian=True)
def polynomial_fit_mse(rng):
    t = np.linspace(-1, 1, 7)
    y = np.sin(2 * t)
    powers = np.arange(4.0)
    ct, cy, cp = C(t), C(y), C(powers)
    tt, ty, tp = T(t), T(y), T(powers)

    def f_cr(coef):
        vander = cr.power(cr.reshape(ct, (7, 1)), cp)
        return cr.mse(vander @ coef, cy)

    def f_torch(coef):
        vander = torch.pow(tt.reshape(7, 1), tp)
        return F.mse_loss(vander @ coef, ty)

    return [rng.standard_normal(4)], f_cr, f_torch


@case(rtol=1e-8)
def least_squares_polynomial_coefficients(rng):
    def f_cr(t, y):
        vander = cr.stack([cr.ones_like(t), t, t**2], axis=1)
        return cr.solve(cr.transpose(vander) @ vander, cr.transpose(vander) @ y)

    def f_torch(t, y):
        vander = torch.stack([torch.ones_like(t), t, t**2], dim=1)
        return torch.linalg.solve(vander.T @ vander, vander.T @ y)

    return (
        [np.linspace(-1, 1, 6) + rng.uniform(-0.05, 0.05, 6), rng.standard_normal(6)],
        f_cr,
        f_torch,
    )


@case(hessian=True)
def horner_polynomial_values(rng):
    def f_cr(coef, t):
        out = coef[0] * cr.ones_like(t)
        for k in range(1, 4):
            out = out * t + coef[k]
        return cr.sum(out**2)

    def f_torch(coef, t):
        out = coef[0] * torch.ones_like(t)
        for k in range(1, 4):
            out = out * t + coef[k]
        return torch.sum(out**2)

    return [rng.standard_normal(4), rng.uniform(-1, 1, 3)], f_cr, f_torch


# ================================================================ norms
@case(hessian=True)
def vector_norm_of_difference(rng):
    def f_cr(a, b):
        return cr.norm(a - b)

    def f_torch(a, b):
        return torch.linalg.vector_norm(a - b)

    return [rng.standard_normal(4), rng.standard_normal(4)], f_cr, f_torch


@case(hessian=True)
def frobenius_norm_of_product(rng):
    def f_cr(a, b):
        return cr.norm(a @ b, ord="fro")

    def f_torch(a, b):
        return torch.linalg.matrix_norm(a @ b, ord="fro")

    return [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))], f_cr, f_torch


@case(hessian=True)
def l1_and_inf_norms(rng):
    def f_cr(x):
        return cr.norm(x, ord=1) + 2.0 * cr.norm(x, ord=np.inf)

    def f_torch(x):
        return torch.linalg.vector_norm(x, ord=1) + 2.0 * torch.linalg.vector_norm(x, ord=math.inf)

    return [distinct(rng, 5) + 0.01], f_cr, f_torch


@case()
def row_normalise_by_norm_keepdims(rng):
    def f_cr(x):
        return x / cr.norm(x, axis=1, keepdims=True)

    def f_torch(x):
        return x / torch.linalg.vector_norm(x, dim=1, keepdim=True)

    return [rng.standard_normal((3, 4))], f_cr, f_torch


@case()
def per_row_norms_axis(rng):
    def f_cr(x):
        return cr.norm(x, axis=(0, 2)) * cr.sum(x, axis=(0, 2))

    def f_torch(x):
        return torch.linalg.vector_norm(x, dim=(0, 2)) * torch.sum(x, dim=(0, 2))

    return [rng.standard_normal((2, 3, 2))], f_cr, f_torch


# ================================================================ logsumexp
@case()
def logsumexp_rows(rng):
    def f_cr(x):
        return cr.logsumexp(x, axis=1)

    def f_torch(x):
        return torch.logsumexp(x, dim=1)

    return [rng.standard_normal((3, 4)) * 3], f_cr, f_torch


@case(hessian=True)
def logsumexp_scaled_total(rng):
    def f_cr(x, s):
        return cr.logsumexp(x * s) / s

    def f_torch(x, s):
        return torch.logsumexp((x * s).reshape(-1), dim=0) / s

    return [rng.standard_normal((2, 3)), np.array(1.7)], f_cr, f_torch


@case(hessian=True)
def logsumexp_keepdims_minus_log_softmax(rng):
    def f_cr(x):
        lse = cr.logsumexp(x, axis=0, keepdims=True)
        return cr.sum(cr.exp(x - lse) * cr.log_softmax(x, axis=0))

    def f_torch(x):
        lse = torch.logsumexp(x, dim=0, keepdim=True)
        return torch.sum(torch.exp(x - lse) * torch.log_softmax(x, dim=0))

    return [rng.standard_normal((3, 2))], f_cr, f_torch


# ================================================================ conv + pool stacks
@case(hessian=True)
def conv_relu_maxpool_stride2(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    cx, tx = C(x), T(x)

    def f_cr(w, b):
        h = cr.relu(cr.conv2d(cx, w, b, padding=1))
        return cr.sum(cr.max_pool2d(h, 2, stride=2) ** 2)

    def f_torch(w, b):
        h = torch.relu(F.conv2d(tx, w, b, padding=1))
        return torch.sum(F.max_pool2d(h, 2, stride=2) ** 2)

    return [rng.standard_normal((3, 2, 3, 3)) * 0.5, rng.standard_normal(3) * 0.1], f_cr, f_torch


@case()
def conv_stride2_padding_avgpool_padding(rng):
    def f_cr(x, w):
        h = cr.tanh(cr.conv2d(x, w, stride=2, padding=1))
        return cr.avg_pool2d(h, 2, stride=1, padding=1)

    def f_torch(x, w):
        h = torch.tanh(F.conv2d(x, w, stride=2, padding=1))
        return F.avg_pool2d(h, 2, stride=1, padding=1)

    return (
        [rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((2, 1, 3, 3)) * 0.5],
        f_cr,
        f_torch,
    )


@case(hessian=True)
def small_cnn_cross_entropy(rng):
    x, labels = rng.standard_normal((2, 1, 6, 6)), rng.integers(0, 3, 2)
    cx, cl, tx, tl = C(x), C(labels), T(x), T(labels)

    def f_cr(w, b, wl, bl):
        h = cr.avg_pool2d(cr.tanh(cr.conv2d(cx, w, b)), 2)
        return cr.cross_entropy(cr.reshape(h, (2, -1)) @ wl + bl, cl)

    def f_torch(w, b, wl, bl):
        h = F.avg_pool2d(torch.tanh(F.conv2d(tx, w, b)), 2)
        return F.cross_entropy(h.reshape(2, -1) @ wl + bl, tl)

    return [rng.standard_normal((2, 1, 3, 3)) * 0.5, rng.standard_normal(2) * 0.1,
            rng.standard_normal((8, 3)) * 0.3, rng.standard_normal(3) * 0.1], f_cr, f_torch  # fmt: skip


@case()
def conv2d_output_rectangular_stride(rng):
    def f_cr(x, w, b):
        return cr.conv2d(x, w, b, stride=(1, 2), padding=(0, 1))

    def f_torch(x, w, b):
        return F.conv2d(x, w, b, stride=(1, 2), padding=(0, 1))

    return (
        [
            rng.standard_normal((1, 2, 3, 4)),
            rng.standard_normal((2, 2, 2, 2)),
            rng.standard_normal(2),
        ],
        f_cr,
        f_torch,
    )


@case()
def overlapping_maxpool_with_padding(rng):
    def f_cr(x):
        return cr.max_pool2d(x, 3, stride=1, padding=1)

    def f_torch(x):
        return F.max_pool2d(x, 3, stride=1, padding=1)

    return [distinct(rng, (1, 2, 4, 4))], f_cr, f_torch


@case(hessian=True)
def two_conv_layers_maxpool_then_linear(rng):
    x = rng.standard_normal((1, 1, 7, 7))
    cx, tx = C(x), T(x)

    def f_cr(w1, w2, wl):
        h = cr.max_pool2d(cr.tanh(cr.conv2d(cx, w1, padding=1)), 2, stride=2)
        h = cr.sigmoid(cr.conv2d(h, w2))
        return cr.sum((cr.flatten(h) @ wl) ** 2)

    def f_torch(w1, w2, wl):
        h = F.max_pool2d(torch.tanh(F.conv2d(tx, w1, padding=1)), 2, stride=2)
        h = torch.sigmoid(F.conv2d(h, w2))
        return torch.sum((torch.flatten(h) @ wl) ** 2)

    return [rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((2, 2, 2, 2)),
            rng.standard_normal((8, 2))], f_cr, f_torch  # fmt: skip


# ================================================================ normalisations
@case()
def layer_norm(rng):
    eps = 1e-5

    def f_cr(x, gamma, beta):
        mu = cr.mean(x, axis=-1, keepdims=True)
        var = cr.var(x, axis=-1, keepdims=True)
        return (x - mu) / cr.sqrt(var + eps) * gamma + beta

    def f_torch(x, gamma, beta):
        return F.layer_norm(x, (4,), gamma, beta, eps)

    return (
        [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)],
        f_cr,
        f_torch,
    )


@case(hessian=True)
def batch_norm_training_loss(rng):
    eps = 1e-5

    def f_cr(x, gamma, beta):
        mu = cr.mean(x, axis=0)
        var = cr.var(x, axis=0)
        y = (x - mu) / cr.sqrt(var + eps) * gamma + beta
        return cr.sum(cr.tanh(y) ** 2)

    def f_torch(x, gamma, beta):
        y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        return torch.sum(torch.tanh(y) ** 2)

    return (
        [rng.standard_normal((4, 2)), rng.standard_normal(2), rng.standard_normal(2)],
        f_cr,
        f_torch,
    )


@case()
def batch_norm_2d_over_n_h_w(rng):
    eps = 1e-5

    def f_cr(x, gamma):
        mu = cr.mean(x, axis=(0, 2, 3), keepdims=True)
        var = cr.var(x, axis=(0, 2, 3), keepdims=True)
        return (x - mu) / cr.sqrt(var + eps) * cr.reshape(gamma, (1, 2, 1, 1))

    def f_torch(x, gamma):
        return F.batch_norm(x, None, None, gamma, None, training=True, eps=eps)

    return [rng.standard_normal((2, 2, 2, 3)), rng.standard_normal(2)], f_cr, f_torch


@case(hessian=True)
def standardise_with_unbiased_std(rng):
    def f_cr(x):
        z = (x - cr.mean(x, axis=1, keepdims=True)) / cr.std(x, axis=1, ddof=1, keepdims=True)
        return cr.sum(z**3)

    def f_torch(x):
        z = (x - torch.mean(x, dim=1, keepdim=True)) / torch.std(
            x, dim=1, correction=1, keepdim=True
        )
        return torch.sum(z**3)

    return [rng.standard_normal((2, 4))], f_cr, f_torch


@case()
def group_norm_by_reshape(rng):
    eps = 1e-5

    def f_cr(x):
        g = cr.reshape(x, (2, 2, -1))
        g = (g - cr.mean(g, axis=-1, keepdims=True)) / cr.sqrt(
            cr.var(g, axis=-1, keepdims=True) + eps
        )
        return cr.reshape(g, (2, 4, 2))

    def f_torch(x):
        return F.group_norm(x, 2, eps=eps)

    return [rng.standard_normal((2, 4, 2))], f_cr, f_torch


# ================================================================ indexing and gather
@case(hessian=True)
def gather_take_along_axis_weighted(rng):
    idx = rng.integers(0, 4, (3, 2))
    ci, ti = C(idx), T(idx)

    def f_cr(x):
        picked = cr.take_along_axis(x, ci, axis=1)
        return cr.sum(cr.sin(picked) * cr.arange(1.0, 3.0))

    def f_torch(x):
        picked = torch.gather(x, 1, ti)
        return torch.sum(torch.sin(picked) * torch.arange(1.0, 3.0, dtype=x.dtype))

    return [rng.standard_normal((3, 4))], f_cr, f_torch


@case()
def fancy_indexing_and_slices(rng):
    rows = np.array([2, 0, 2, 1])

    def f_cr(x):
        a = x[rows, 1:]
        b = x[::-1, ::2]
        return cr.concatenate([cr.reshape(a, (-1,)), cr.reshape(b * b, (-1,)), x[1, None, -1]])

    def f_torch(x):
        a = x[T(rows), 1:]
        b = torch.flip(x, (0,))[:, ::2]
        return torch.cat([a.reshape(-1), (b * b).reshape(-1), x[1, None, -1]])

    return [rng.standard_normal((3, 4))], f_cr, f_torch


@case(hessian=True)
def embedding_lookup_with_take(rng):
    tokens = np.array([3, 1, 3, 0, 2])
    ct, tt = C(tokens), T(tokens)

    def f_cr(table, w):
        emb = cr.take(table, ct, axis=0)
        return cr.sum(cr.tanh(emb @ w))

    def f_torch(table, w):
        emb = torch.index_select(table, 0, tt)
        return torch.sum(torch.tanh(emb @ w))

    return [rng.standard_normal((4, 3)), rng.standard_normal(3)], f_cr, f_torch


@case()
def index_put_rows_and_values(rng):
    rows, cols = np.array([0, 2, 1]), np.array([1, 0, 3])

    def f_cr(x, v):
        return cr.exp(cr.index_put(x, (rows, cols), v * 2.0))

    def f_torch(x, v):
        return torch.exp(x.index_put((T(rows), T(cols)), v * 2.0))

    return [rng.standard_normal((3, 4)), rng.standard_normal(3)], f_cr, f_torch


@case()
def boolean_mask_selection(rng):
    x = rng.standard_normal((3, 4))
    mask = x > 0.2
    mask[0, 0] = True

    def f_cr(x):
        return cr.cumsum(x[mask] ** 2)

    def f_torch(x):
        return torch.cumsum(x[T(mask)] ** 2, dim=0)

    return [x], f_cr, f_torch


@case(hessian=True)
def take_flat_and_diagonal(rng):
    idx = np.array([0, 5, 5, 7])

    def f_cr(x):
        return cr.sum(cr.take(x, idx) ** 3) + cr.sum(cr.diagonal(x, offset=1) * cr.trace(x))

    def f_torch(x):
        return torch.sum(torch.take(x, T(idx)) ** 3) + torch.sum(
            torch.diagonal(x, offset=1) * torch.trace(x)
        )

    return [rng.standard_normal((3, 3))], f_cr, f_torch


# ================================================================ shape mixes
@case()
def concatenate_stack_split(rng):
    def f_cr(a, b):
        parts = cr.split(cr.concatenate([a, b * 2], axis=1), [1, 4], axis=1)
        return cr.stack([p.sum(axis=1) for p in parts], axis=1) * cr.stack(
            [a[:, 0], b[:, 1], a[:, 1]], axis=1
        )

    def f_torch(a, b):
        parts = torch.tensor_split(torch.cat([a, b * 2], dim=1), [1, 4], dim=1)
        return torch.stack([p.sum(dim=1) for p in parts], dim=1) * torch.stack(
            [a[:, 0], b[:, 1], a[:, 1]], dim=1
        )

    return [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))], f_cr, f_torch


@case()
def pad_flip_roll(rng):
    def f_cr(x):
        p = cr.pad(x, ((1, 0), (0, 2)), constant_values=0.5)
        return cr.roll(cr.flip(p, axis=1), 2, axis=1) * cr.roll(p, (1, -1), axis=(0, 1))

    def f_torch(x):
        p = F.pad(x, (0, 2, 1, 0), value=0.5)
        return torch.roll(torch.flip(p, (1,)), 2, dims=1) * torch.roll(p, (1, -1), dims=(0, 1))

    return [rng.standard_normal((2, 3))], f_cr, f_torch


@case()
def tile_repeat_transpose_reshape(rng):
    def f_cr(x):
        t = cr.tile(x, (2, 1))
        r = cr.repeat(x, 2, axis=1)
        return cr.reshape(cr.transpose(t), (3, 4)) + cr.reshape(r, (3, 4)) * 0.5

    def f_torch(x):
        t = torch.tile(x, (2, 1))
        r = torch.repeat_interleave(x, 2, dim=1)
        return t.T.reshape(3, 4) + r.reshape(3, 4) * 0.5

    return [rng.standard_normal((2, 3))], f_cr, f_torch


@case()
def moveaxis_swapaxes_expand_squeeze_broadcast(rng):
    def f_cr(x, y):
        a = cr.moveaxis(x, 0, -1)
        b = cr.swapaxes(cr.expand_dims(y, 0), 0, 1)
        c = cr.broadcast_to(b, (3, 2, 2)) * a
        return cr.squeeze(cr.permute(c, 2, 0, 1)[:, :, :1], axis=2)

    def f_torch(x, y):
        a = torch.movedim(x, 0, -1)
        b = torch.swapaxes(torch.unsqueeze(y, 0), 0, 1)
        c = torch.broadcast_to(b, (3, 2, 2)) * a
        return torch.squeeze(c.permute(2, 0, 1)[:, :, :1], dim=2)

    return [rng.standard_normal((2, 3, 2)), rng.standard_normal((3, 2))], f_cr, f_torch


@case()
def per_element_repeat_and_sum_to(rng):
    def f_cr(x):
        r = cr.repeat(x, [1, 3, 2], axis=0)
        return cr.sum_to(r * r, (1, 2))

    def f_torch(x):
        r = torch.repeat_interleave(x, T(np.array([1, 3, 2])), dim=0)
        return (r * r).sum_to_size(1, 2)

    return [rng.standard_normal((3, 2))], f_cr, f_torch


# ================================================================ cumulative ops
@case(hessian=True)
def cumsum_cumprod_mix(rng):
    def f_cr(x):
        return cr.sum(cr.cumsum(x, axis=1) * cr.cumprod(x, axis=0))

    def f_torch(x):
        return torch.sum(torch.cumsum(x, dim=1) * torch.cumprod(x, dim=0))

    return [away_from(rng, (3, 3), 0.3)], f_cr, f_torch


@case()
def cumprod_flattened_with_negatives(rng):
    def f_cr(x):
        return cr.cumprod(x)

    def f_torch(x):
        return torch.cumprod(x.reshape(-1), dim=0)

    x = rng.uniform(0.5, 1.5, (2, 3)) * np.array([1, -1, 1])
    return [x], f_cr, f_torch


@case()
def discounted_returns_cumsum_flip(rng):
    def f_cr(r, gamma):
        k = cr.arange(4.0)
        disc = cr.power(gamma, k)
        return cr.flip(cr.cumsum(cr.flip(r * disc, axis=0), axis=0), axis=0) / disc

    def f_torch(r, gamma):
        k = torch.arange(4.0, dtype=r.dtype)
        disc = torch.pow(gamma, k)
        return torch.flip(torch.cumsum(torch.flip(r * disc, (0,)), dim=0), (0,)) / disc

    return [rng.standard_normal(4), np.array(0.9)], f_cr, f_torch


# ================================================================ where / maximum / clip
@case(hessian=True)
def where_maximum_clip_mix(rng):
    x, y = away_from(rng, 5, 0.1), rng.standard_normal(5)
    x = np.where(np.abs(x - 0.5) < 0.05, x + 0.2, x)
    x = np.where(np.abs(x + 0.5) < 0.05, x - 0.2, x)
    y = np.where(np.abs(x - y) < 0.1, y + 0.3, y)

    def f_cr(x, y):
        a = cr.where(x > 0, x**2, cr.sin(x))
        return cr.sum(a * cr.maximum(x, y) + cr.clip(x, -0.5, 0.5) ** 2)

    def f_torch(x, y):
        a = torch.where(x > 0, x**2, torch.sin(x))
        return torch.sum(a * torch.maximum(x, y) + torch.clamp(x, -0.5, 0.5) ** 2)

    return [x, y], f_cr, f_torch


@case()
def minimum_maximum_broadcast(rng):
    a, b = distinct(rng, (3, 1)), distinct(rng, (1, 4)) + 0.013

    def f_cr(a, b):
        return cr.minimum(a, b) * 2 + cr.maximum(a * b, 0.05)

    def f_torch(a, b):
        return torch.minimum(a, b) * 2 + torch.clamp(a * b, min=0.05)

    assert np.all(np.abs(a * b - 0.05) > 1e-4) and np.all(np.abs(a - b) > 1e-4)
    return [a, b], f_cr, f_torch


@case(hessian=True)
def huber_loss_via_where_and_abs(rng):
    target = rng.standard_normal(6)
    pred = target + away_from(rng, 6, 0.2, 1.5)
    pred = np.where(np.abs(np.abs(pred - target) - 1.0) < 0.1, pred + 0.3, pred)
    ct, tt = C(target), T(target)

    def f_cr(p):
        d = cr.abs(p - ct)
        return cr.mean(cr.where(d < 1.0, 0.5 * d**2, d - 0.5))

    def f_torch(p):
        return F.huber_loss(p, tt, delta=1.0)

    return [pred], f_cr, f_torch


@case()
def clip_with_constant_tensor_bounds_and_relu(rng):
    x = distinct(rng, (2, 4), spacing=0.1)
    xs = np.sort(x.ravel())
    shift = (xs[3] + xs[4]) / 2  # the ReLU's kink falls between two data values
    lo, hi = 3 * (xs[1] + xs[2]) / 2 * np.ones(4), 3 * (xs[5] + xs[6]) / 2 * np.ones(4)
    clo, chi, tlo, thi = C(lo), C(hi), T(lo), T(hi)

    def f_cr(x):
        return cr.clip(x * 3, clo, chi) + cr.relu(x - shift)

    def f_torch(x):
        return torch.clamp(x * 3, tlo, thi) + torch.relu(x - shift)

    return [x], f_cr, f_torch


@case()
def clip_with_differentiable_tensor_bounds(rng):
    x = distinct(rng, (2, 4), spacing=0.1)
    xs = np.sort(x.ravel())
    lo, hi = 3 * (xs[1] + xs[2]) / 2 * np.ones(4), 3 * (xs[5] + xs[6]) / 2 * np.ones(4)
    lo[0] -= 0.3  # bounds that differ per column, broadcast over the rows
    hi[3] += 0.3

    def f_cr(x, lo, hi):
        return cr.clip(x * 3, lo, hi) ** 2

    def f_torch(x, lo, hi):
        return torch.clamp(x * 3, lo, hi) ** 2

    return [x, lo, hi], f_cr, f_torch


# ================================================================ einsum contractions
@case(hessian=True)
def einsum_bilinear_form(rng):
    def f_cr(x, a, y):
        return cr.einsum("i,ij,j->", x, a, y)

    def f_torch(x, a, y):
        return torch.einsum("i,ij,j->", x, a, y)

    return (
        [rng.standard_normal(3), rng.standard_normal((3, 2)), rng.standard_normal(2)],
        f_cr,
        f_torch,
    )


@case()
def einsum_batched_matmul(rng):
    def f_cr(a, b):
        return cr.einsum("bij,bjk->bik", a, b)

    def f_torch(a, b):
        return torch.einsum("bij,bjk->bik", a, b)

    return [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2))], f_cr, f_torch


@case(hessian=True)
def einsum_trace_and_rowwise_dot(rng):
    def f_cr(a, b):
        return cr.einsum("ii", a) * cr.sum(cr.einsum("ij,ij->i", a, b) ** 2)

    def f_torch(a, b):
        return torch.einsum("ii", a) * torch.sum(torch.einsum("ij,ij->i", a, b) ** 2)

    return [rng.standard_normal((3, 3)), rng.standard_normal((3, 3))], f_cr, f_torch


@case()
def einsum_outer_and_implicit_transpose(rng):
    def f_cr(u, v, m):
        return cr.einsum("i,j->ij", u, v) + cr.einsum("ji", m)

    def f_torch(u, v, m):
        return torch.einsum("i,j->ij", u, v) + torch.einsum("ji", m)

    return (
        [rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal((3, 2))],
        f_cr,
        f_torch,
    )


@case()
def einsum_three_operand_chain(rng):
    def f_cr(a, b, c):
        return cr.einsum("ij,jk,kl->il", a, b, c)

    def f_torch(a, b, c):
        return torch.einsum("ij,jk,kl->il", a, b, c)

    return (
        [rng.standard_normal((2, 3)), rng.standard_normal((3, 2)), rng.standard_normal((2, 2))],
        f_cr,
        f_torch,
    )


# ================================================================ broadcasting-heavy expressions
@case(hessian=True)
def rbf_kernel_pairwise_distances(rng):
    def f_cr(a, b, ell):
        d2 = cr.sum((cr.expand_dims(a, 1) - cr.expand_dims(b, 0)) ** 2, axis=-1)
        return cr.sum(cr.exp(-d2 / (2 * ell**2)))

    def f_torch(a, b, ell):
        d2 = torch.sum((a.unsqueeze(1) - b.unsqueeze(0)) ** 2, dim=-1)
        return torch.sum(torch.exp(-d2 / (2 * ell**2)))

    return [rng.standard_normal((3, 2)), rng.standard_normal((2, 2)), np.array(0.8)], f_cr, f_torch


@case()
def broadcast_three_ranks(rng):
    def f_cr(a, b, c):
        return (a * b + c) / (1.5 + cr.sin(a - c)) - b**2 * c

    def f_torch(a, b, c):
        return (a * b + c) / (1.5 + torch.sin(a - c)) - b**2 * c

    return (
        [rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 1)), rng.standard_normal(3)],
        f_cr,
        f_torch,
    )


@case()
def broadcast_power_arctan2_divide(rng):
    def f_cr(x, p, y):
        return cr.power(x, p) + cr.arctan2(y, x) - x / (y**2 + 1)

    def f_torch(x, p, y):
        return torch.pow(x, p) + torch.atan2(y, x) - x / (y**2 + 1)

    return (
        [rng.uniform(0.5, 2.0, (2, 3)), rng.uniform(-1, 2, 3), rng.standard_normal((2, 1))],
        f_cr,
        f_torch,
    )


@case()
def softmax_over_axis_0_times_broadcast_bias(rng):
    def f_cr(x, b):
        return cr.softmax(x + b, axis=0) * cr.sigmoid(b)

    def f_torch(x, b):
        return torch.softmax(x + b, dim=0) * torch.sigmoid(b)

    return [rng.standard_normal((3, 2)), rng.standard_normal((1, 2))], f_cr, f_torch


# ================================================================ reductions and unary chains
@case(hessian=True)
def prod_var_std_max_min_reductions(rng):
    def f_cr(x):
        return (cr.sum(cr.prod(x, axis=1)) + cr.sum(cr.var(x, axis=0)) + cr.std(x)
                + cr.sum(cr.max(x, axis=1) * cr.min(x, axis=0)[:2]))  # fmt: skip

    def f_torch(x):
        return (torch.sum(torch.prod(x, dim=1)) + torch.sum(torch.var(x, dim=0, correction=0))
                + torch.std(x, correction=0)
                + torch.sum(torch.amax(x, dim=1) * torch.amin(x, dim=0)[:2]))  # fmt: skip

    return [distinct(rng, (2, 3)) + 1.3], f_cr, f_torch


@case(hessian=True)
def sigmoid_softplus_log1p_expm1_erf_chain(rng):
    def f_cr(x):
        return cr.sum(cr.log1p(cr.sigmoid(x)) * cr.expm1(cr.erf(x)) + cr.softplus(-x) ** 2)

    def f_torch(x):
        return torch.sum(
            torch.log1p(torch.sigmoid(x)) * torch.expm1(torch.erf(x)) + F.softplus(-x) ** 2
        )

    return [rng.standard_normal(4)], f_cr, f_torch


@case(hessian=True)
def trigonometric_and_hyperbolic_chain(rng):
    def f_cr(x):
        u = cr.arcsin(x * 0.8) + cr.arccos(x * 0.5) + cr.arctan(x)
        return cr.sum(cr.sinh(u) * cr.cosh(x) + cr.tan(x) * cr.cos(u))

    def f_torch(x):
        u = torch.asin(x * 0.8) + torch.acos(x * 0.5) + torch.atan(x)
        return torch.sum(torch.sinh(u) * torch.cosh(x) + torch.tan(x) * torch.cos(u))

    return [rng.uniform(-0.9, 0.9, 4)], f_cr, f_torch


@case(hessian=True)
def logs_roots_reciprocals(rng):
    def f_cr(x):
        return cr.sum(
            cr.log2(x) * cr.sqrt(x) + cr.log10(x + 1) * cr.reciprocal(x) + cr.square(cr.log(x))
        )

    def f_torch(x):
        return torch.sum(torch.log2(x) * torch.sqrt(x) + torch.log10(x + 1) * torch.reciprocal(x)
                         + torch.square(torch.log(x)))  # fmt: skip

    return [rng.uniform(0.3, 3.0, 4)], f_cr, f_torch


@case()
def mod_and_abs_elementwise(rng):
    x = rng.uniform(0.1, 0.9, 4) + np.array([0, 1, 2, -2])
    y = np.full(4, 1.3)

    def f_cr(x, y):
        return cr.mod(x * 2.0, y) * cr.abs(x)

    def f_torch(x, y):
        return torch.remainder(x * 2.0, y) * torch.abs(x)

    q = 2 * x / y
    assert np.all(np.abs(q - np.round(q)) > 0.02) and np.all(np.abs(x) > 0.05)
    return [x, y], f_cr, f_torch


# ================================================================ products through zeros
@case(hessian=True)
def prod_and_cumprod_through_exact_zeros(rng):
    # A product is smooth where a factor is exactly 0: the derivative there is the product of
    # the other factors (a rule that divides by x would give NaN or miss it).
    x = rng.uniform(0.5, 1.5, (3, 3)) * np.array([1, -1, 1])
    x[0, 1] = 0.0
    x[2, 0] = x[2, 2] = 0.0
    w = rng.standard_normal((3, 3))
    cw, tw = C(w), T(w)

    def f_cr(x):
        return (
            cr.sum(cr.prod(x, axis=1) * cw[0])
            + cr.sum(cr.cumprod(x, axis=1) * cw)
            + cr.prod(x[0] + 0.0)
        )

    def f_torch(x):
        return (
            torch.sum(torch.prod(x, dim=1) * tw[0])
            + torch.sum(torch.cumprod(x, dim=1) * tw)
            + torch.prod(x[0] + 0.0)
        )

    return [x], f_cr, f_torch


# ================================================================ more linear algebra
@case(hessian=True, rtol=1e-8)
def slogdet_negative_determinant_batched(rng):
    a = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
    # The first matrix with a negative determinant, the second with a positive one.
    for k, sign in ((0, -1.0), (1, 1.0)):
        if np.sign(np.linalg.det(a[k])) != sign:
            a[k, 0] = -a[k, 0]

    def f_cr(a):
        sign, logabsdet = cr.slogdet(a)
        return cr.sum(sign * logabsdet) + cr.sum(cr.det(a) ** 2)

    def f_torch(a):
        sign, logabsdet = torch.linalg.slogdet(a)
        return torch.sum(sign * logabsdet) + torch.sum(torch.linalg.det(a) ** 2)

    assert np.linalg.det(a[0]) < 0 < np.linalg.det(a[1])
    return [a], f_cr, f_torch


@case(rtol=1e-8)
def batched_inverse_and_cholesky(rng):
    def f_cr(m):
        s = m @ cr.swapaxes(m, -1, -2) + cr.eye(2)
        return cr.inv(s) + cr.cholesky(s)

    def f_torch(m):
        s = m @ m.mT + torch.eye(2, dtype=m.dtype)
        return torch.linalg.inv(s) + torch.linalg.cholesky(s)

    return [rng.standard_normal((3, 2, 2))], f_cr, f_torch


@case(hessian=True)
def matmul_vector_and_batch_broadcast_forms(rng):
    def f_cr(a, v, b):
        mv = a @ v  # (2, 3, 4) @ (4,) -> (2, 3)
        vm = v @ cr.transpose(a[0])  # (4,) @ (4, 3) -> (3,)
        bb = b @ a  # (3,) @ (2, 3, 4) -> (2, 4): a vector against a batch of matrices
        return cr.sum(mv * vm) + cr.sum(bb**2) + v @ v

    def f_torch(a, v, b):
        mv = a @ v
        vm = v @ a[0].T
        bb = b @ a
        return torch.sum(mv * vm) + torch.sum(bb**2) + v @ v

    return (
        [rng.standard_normal((2, 3, 4)), rng.standard_normal(4), rng.standard_normal(3)],
        f_cr,
        f_torch,
    )


@case()
def matmul_broadcasting_batches(rng):
    def f_cr(a, b):
        return a @ b  # (2, 1, 2, 3) @ (3, 3, 2) -> (2, 3, 2, 2)

    def f_torch(a, b):
        return a @ b

    return [rng.standard_normal((2, 1, 2, 3)), rng.standard_normal((3, 3, 2))], f_cr, f_torch


@case(hessian=True)
def trace_and_diagonal_of_3d_with_offsets(rng):
    def f_cr(x):
        d = cr.diagonal(x, offset=-1, axis1=1, axis2=2)
        return (
            cr.sum(d**2)
            + cr.trace(x[0] @ cr.transpose(x[1]), offset=1)
            + cr.sum(cr.einsum("ii->i", x[1]) ** 3)
        )

    def f_torch(x):
        d = torch.diagonal(x, offset=-1, dim1=1, dim2=2)
        return (
            torch.sum(d**2)
            + torch.diagonal(x[0] @ x[1].T, offset=1).sum()
            + torch.sum(torch.einsum("ii->i", x[1]) ** 3)
        )

    return [rng.standard_normal((2, 3, 3))], f_cr, f_torch


# ================================================================ in-place updates
@case()
def in_place_setitem_and_augmented_ops(rng):
    def f_cr(x, v):
        y = x * 2.0
        y[1:, 0] = cr.sin(v)
        y += x**2
        y *= cr.exp(v[0])
        return y

    def f_torch(x, v):
        y = x * 2.0
        y[1:, 0] = torch.sin(v)
        y += x**2
        y *= torch.exp(v[0])
        return y

    return [rng.standard_normal((3, 2)), rng.standard_normal(2)], f_cr, f_torch


@case(hessian=True)
def index_put_slice_with_broadcast_value(rng):
    def f_cr(x, v):
        y = cr.index_put(x, (slice(None), 1), v)
        return cr.sum(cr.tanh(y) * x)

    def f_torch(x, v):
        y = x.clone()
        y[:, 1] = v
        return torch.sum(torch.tanh(y) * x)

    return [rng.standard_normal((3, 3)), rng.standard_normal(())], f_cr, f_torch


# ================================================================ more indexing and shapes
@case()
def getitem_none_ellipsis_negative_steps(rng):
    def f_cr(x):
        a = x[..., ::-2]
        b = x[None, 1, :, 0]
        c = x[-1, ..., None]
        return cr.concatenate([cr.flatten(a), cr.flatten(b * 3), cr.flatten(c) ** 2])

    def f_torch(x):
        a = torch.flip(x, (-1,))[..., ::2]
        b = x[None, 1, :, 0]
        c = x[-1, ..., None]
        return torch.cat([torch.flatten(a), torch.flatten(b * 3), torch.flatten(c) ** 2])

    return [rng.standard_normal((2, 3, 4))], f_cr, f_torch


@case(hessian=True)
def take_along_axis_0_with_broadcast_indices(rng):
    idx = np.array([[2, 0, 1, 2]])  # one row of indices, broadcast along nothing else

    def f_cr(x):
        return cr.sum(cr.exp(cr.take_along_axis(x, idx, axis=0)) * cr.sum(x, axis=0))

    def f_torch(x):
        return torch.sum(torch.exp(torch.gather(x, 0, T(idx))) * torch.sum(x, dim=0))

    return [rng.standard_normal((3, 4)) * 0.5], f_cr, f_torch


@case()
def split_sections_stack_negative_axis_flatten_dims(rng):
    def f_cr(x):
        a, b, c = cr.split(x, 3, axis=-1)
        s = cr.stack([a * b, b + c, cr.sin(c)], axis=-1)
        v = cr.squeeze(cr.repeat(b[0, :, 0], 2, axis=None)[None, :3])
        return cr.flatten(s, start_dim=1, end_dim=2) @ v

    def f_torch(x):
        a, b, c = torch.tensor_split(x, 3, dim=-1)
        s = torch.stack([a * b, b + c, torch.sin(c)], dim=-1)
        v = torch.squeeze(torch.repeat_interleave(b[0, :, 0], 2)[None, :3])
        return torch.flatten(s, start_dim=1, end_dim=2) @ v

    return [rng.standard_normal((2, 2, 6))], f_cr, f_torch


# ================================================================ larger magnitudes and losses
@case(hessian=True)
def softmax_and_cross_entropy_of_large_logits(rng):
    labels = rng.integers(0, 3, 2)
    cl, tl = C(labels), T(labels)

    def f_cr(x):
        z = x * 80.0
        return (
            cr.cross_entropy(z, cl)
            + cr.sum(cr.softmax(z, axis=1)[:, 0])
            + cr.sum(cr.logsumexp(z, axis=0))
        )

    def f_torch(x):
        z = x * 80.0
        return (
            F.cross_entropy(z, tl)
            + torch.sum(torch.softmax(z, dim=1)[:, 0])
            + torch.sum(torch.logsumexp(z, dim=0))
        )

    return [rng.standard_normal((2, 3))], f_cr, f_torch


@case(hessian=True)
def bce_with_soft_targets_sum_and_mse_none(rng):
    p = rng.uniform(0.05, 0.95, 4)
    cp, tp = C(p), T(p)

    def f_cr(z, y):
        return (cr.binary_cross_entropy_with_logits(z, cp, reduction="sum")
                + cr.sum(cr.mse(z, y, reduction="none") * cp))  # fmt: skip

    def f_torch(z, y):
        return (F.binary_cross_entropy_with_logits(z, tp, reduction="sum")
                + torch.sum(F.mse_loss(z, y, reduction="none") * tp))  # fmt: skip

    return [rng.standard_normal(4) * 2, rng.standard_normal(4)], f_cr, f_torch


@case()
def log_softmax_of_3d_over_axis_0(rng):
    def f_cr(x):
        return cr.log_softmax(x, axis=0) * cr.softmax(x, axis=-1)

    def f_torch(x):
        return torch.log_softmax(x, dim=0) * torch.softmax(x, dim=-1)

    return [rng.standard_normal((3, 2, 2))], f_cr, f_torch


@case(hessian=True)
def var_std_over_axis_tuples_with_ddof(rng):
    def f_cr(x):
        return (
            cr.sum(cr.var(x, axis=(0, 2), ddof=1))
            * cr.std(x, axis=(1, 2), ddof=1, keepdims=True)[1, 0, 0]
        )

    def f_torch(x):
        return (
            torch.sum(torch.var(x, dim=(0, 2), correction=1))
            * torch.std(x, dim=(1, 2), correction=1, keepdim=True)[1, 0, 0]
        )

    return [rng.standard_normal((2, 3, 2))], f_cr, f_torch
