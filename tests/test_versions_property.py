"""Property: after in-place writes through views and aliases, a gradient is right or an error.

Two experiments, drawn by Hypothesis:

- **Writes after the forward pass** (what a training loop does between ``loss`` and
  ``backward``): a small graph is recorded, then a random sequence of in-place writes reaches
  its leaves and intermediates through bases, views, views of views and detached aliases, under
  ``no_grad`` or not. Backward must then either raise ``RuntimeError``, or return exactly the
  gradient of the computation the forward pass did (recomputed from scratch on fresh tensors
  holding the values the forward pass read): a write to something the backward reads must raise.
  Writes the library refuses at once (through a view of a leaf that requires grad) must raise
  before changing anything.
- **Recorded writes before the loss**: writes through views of an intermediate, with grad mode
  on and values that depend on the parameters, then a loss of the final values. The gradient
  must equal central finite differences of the same program run on plain NumPy arrays (NumPy's
  view semantics are the reference for which entries a write reaches).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A view as the tensor op and the NumPy op that selects the same entries of a 3x3 array.
# The third item is the least number of dimensions the view needs (it is skipped on fewer).
VIEWS = {
    "rows 1:": (lambda t: t[1:], lambda a: a[1:], 1),
    "row 0": (lambda t: t[0], lambda a: a[0], 2),
    "T": (lambda t: t.T, lambda a: a.T, 0),
    "col 2": (lambda t: t[:, 2], lambda a: a[:, 2], 2),
    # A reshape of a non-contiguous view copies, in NumPy and here alike: writes to it are lost.
    "flat": (lambda t: t.reshape(-1), lambda a: a.reshape(-1), 0),
}
WRITES = ["add_", "mul_", "fill_", "zero_"]

view_chains = st.lists(st.sampled_from(sorted(VIEWS)), max_size=2)


def _apply_view(t, chain, detach: bool = False):
    if detach:
        t = t.detach()
    for name in chain:
        op, _, ndim = VIEWS[name]
        if t.ndim >= ndim:
            t = op(t)
    return t


def _write(t, kind: str, c: float):
    if kind == "zero_":
        return t.zero_()
    return getattr(t, kind)(c)


# ---------------------------------------------------------------- writes after the forward pass
def _forward(w, a):
    """A graph whose nodes keep inputs (mul, matmul), outputs (exp, tanh) and nothing (add)."""
    h = cr.exp(w * 0.3) * a  # exp keeps its output, mul keeps both inputs
    y = h @ a.T + w  # matmul keeps both; add keeps nothing
    return cr.tanh(y).sum() + (y * 0.5).sum(), y


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    writes=st.lists(
        st.tuples(
            st.sampled_from(["w", "a", "y"]),  # a leaf that requires grad, a constant, an intermediate
            view_chains,
            st.booleans(),  # through a detached alias first
            st.sampled_from(WRITES),
            st.floats(-2.0, 2.0, allow_nan=False),
            st.booleans(),  # under no_grad
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_writes_after_forward_give_the_forward_gradient_or_raise(seed, writes) -> None:
    rng = np.random.default_rng(seed)
    w0, a0 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    w = cr.tensor(w0.copy(), requires_grad=True)
    a = cr.tensor(a0.copy())
    loss, y = _forward(w, a)
    targets = {"w": w, "a": a, "y": y}
    for name, chain, detach, kind, c, quiet in writes:
        target = _apply_view(targets[name], chain, detach)
        before = {k: v.numpy().copy() for k, v in targets.items()}
        try:
            if quiet:
                with cr.no_grad():
                    _write(target, kind, c)
            else:
                _write(target, kind, c)
        except RuntimeError:
            # Refused at once (a view of a leaf that requires grad): nothing may have changed.
            for k, v in targets.items():
                np.testing.assert_array_equal(v.numpy(), before[k])
    try:
        loss.backward()
    except RuntimeError as exc:
        assert "in-place" in str(exc)
        return
    fresh_w = cr.tensor(w0, requires_grad=True)
    fresh_loss, _ = _forward(fresh_w, cr.tensor(a0))
    fresh_loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), fresh_w.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- recorded writes before the loss
def _program(lib_w, writes, *, tensors: bool):
    """t = w * a; writes through views of t (values may depend on w); loss = sum(t * C)."""
    a = np.arange(1.0, 10.0).reshape(3, 3) / 4.0
    weights = np.linspace(-1.0, 2.0, 9).reshape(3, 3)
    if tensors:
        t = lib_w * cr.tensor(a)
        for chain, kind, c, uses_w in writes:
            v = _apply_view(t, chain)
            value = lib_w[1, 1] * c if uses_w else c
            if kind == "zero_":
                v.zero_()
            else:
                getattr(v, kind)(value)
        return (t * cr.tensor(weights)).sum(), t
    t = lib_w * a
    for chain, kind, c, uses_w in writes:
        v = t
        for name in chain:
            _, op, ndim = VIEWS[name]
            if v.ndim >= ndim:
                v = op(v)
        value = lib_w[1, 1] * c if uses_w else c
        if kind == "add_":
            v += value
        elif kind == "mul_":
            v *= value
        elif kind == "fill_":
            v[...] = value
        else:
            v[...] = 0.0
    return float((t * weights).sum()), t


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    writes=st.lists(
        st.tuples(view_chains, st.sampled_from(WRITES), st.floats(-2.0, 2.0, allow_nan=False),
                  st.booleans()),  # fmt: skip
        min_size=1,
        max_size=4,
    ),
)
def test_recorded_writes_through_views_match_finite_differences(seed, writes) -> None:
    w0 = np.random.default_rng(seed).normal(size=(3, 3))
    w = cr.tensor(w0.copy(), requires_grad=True)
    loss, t = _program(w, writes, tensors=True)
    _, t_ref = _program(w0.copy(), writes, tensors=False)
    np.testing.assert_allclose(t.numpy(), t_ref, rtol=1e-12, atol=1e-12)
    loss.backward()
    eps = 1e-6
    numeric = np.zeros_like(w0)
    for i in np.ndindex(w0.shape):
        plus, minus = w0.copy(), w0.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = (_program(plus, writes, tensors=False)[0]
                      - _program(minus, writes, tensors=False)[0]) / (2 * eps)  # fmt: skip
    np.testing.assert_allclose(w.grad.numpy(), numeric, rtol=1e-6, atol=1e-6)
