"""CuPy under tensors (issue 16): the checks of the other libraries, on a GPU.

Skipped, with the reason, when CuPy is not installed or no CUDA device is visible (CI has no
GPU). On a GPU machine: tensors stay CuPy arrays through ops and backward, the op table's values
and first-order gradients agree with NumPy's (as test_backends_op_db.py does on
array-api-strict), and moves between NumPy, Dask and CuPy carry gradients back.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.backend import MixedLibrariesError, UnsupportedOnLibrary
from tests.op_db import OP_DB, rng_for

cp = pytest.importorskip("cupy", reason="CuPy is not installed: the GPU backend tests need cupy and a CUDA GPU")


def _gpu_count() -> int:
    try:
        return int(cp.cuda.runtime.getDeviceCount())
    except Exception:  # no driver, no device: CuPy raises its own CUDA errors
        return 0


if _gpu_count() == 0:
    pytest.skip("CuPy is installed but no CUDA GPU is visible: the GPU backend tests need one", allow_module_level=True)


def _is_cupy(t) -> bool:
    return type(t._data).__module__.startswith("cupy")


A = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])


def test_a_cupy_tensor_stays_on_the_gpu_through_forward_and_backward() -> None:
    x = cr.tensor(cp.asarray(A), requires_grad=True)
    y = cr.sum(cr.exp(x) * x + cr.sin(x))
    assert _is_cupy(x) and _is_cupy(y)
    y.backward()
    assert _is_cupy(x.grad)
    np.testing.assert_allclose(x.grad.numpy(), np.exp(A) * (1 + A) + np.cos(A), rtol=1e-12)


def test_grad_of_a_least_squares_loss_on_the_gpu() -> None:
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((64, 5)), rng.standard_normal(64), rng.standard_normal(5)
    Xg, yg = cr.tensor(cp.asarray(X)), cr.tensor(cp.asarray(y))
    g = cr.grad(lambda w: cr.mean((cr.matmul(Xg, w) - yg) ** 2))(cr.tensor(cp.asarray(w)))
    assert _is_cupy(g)
    np.testing.assert_allclose(g.numpy(), 2 * X.T @ (X @ w - y) / 64, rtol=1e-10)


def test_mixing_numpy_and_cupy_names_both() -> None:
    with pytest.raises(MixedLibrariesError, match="cupy.*numpy|numpy.*cupy"):
        cr.tensor(cp.asarray(A)) * cr.tensor(A)


def test_moves_between_numpy_dask_and_cupy_carry_gradients_back() -> None:
    x = cr.tensor(A, requires_grad=True)
    g = x.to("cupy")
    assert _is_cupy(g)
    out = cr.asarray(g * g, like="numpy")
    cr.sum(out).backward()
    assert type(x.grad._data) is np.ndarray
    np.testing.assert_allclose(x.grad.numpy(), 2 * A, rtol=1e-13)
    da = pytest.importorskip("dask.array")
    lazy = g.to("dask", chunks=(1, 3))  # Dask chunks that stay CuPy arrays on the GPU
    assert type(lazy._data) is da.Array
    np.testing.assert_allclose(lazy.numpy(), A)


# ---------------------------------------------------------------- the op table on CuPy
CASES = [(e, s) for e in OP_DB if e.differentiable for s in e.samples(rng_for(e.name))]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]


def _run(entry, sample, convert):
    positions = entry.grad_args
    if positions is None:
        positions = tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")
    args = []
    for i, a in enumerate(sample.args):
        if isinstance(a, (np.ndarray, np.generic, float, int)) and not isinstance(a, bool):
            args.append(cr.tensor(convert(np.asarray(a)), requires_grad=i in positions))
        else:
            args.append(a)
    out = entry.op(*args, **sample.kwargs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, cr.Tensor)]
    rng = np.random.default_rng(0)
    loss = None
    for o in outs:
        if o.requires_grad:
            term = cr.sum(o * cr.tensor(convert(rng.standard_normal(tuple(o.shape)))))
            loss = term if loss is None else loss + term
    grads = []
    if loss is not None:
        loss.backward()
        grads = [None if args[p].grad is None else args[p].grad.numpy() for p in positions]
    return [o.numpy() for o in outs], grads


@pytest.mark.parametrize("entry,sample", CASES, ids=IDS)
def test_op_table_on_cupy_matches_numpy(entry, sample) -> None:
    try:
        values, grads = _run(entry, sample, cp.asarray)
    except UnsupportedOnLibrary as exc:  # a clear refusal is allowed; a wrong number is not
        pytest.skip(f"{entry.name} refuses CuPy arrays: {exc}")
    ref_values, ref_grads = _run(entry, sample, lambda a: a)
    assert len(values) == len(ref_values) and len(grads) == len(ref_grads)
    for v, r in zip(values, ref_values):
        np.testing.assert_allclose(v, r, rtol=1e-9, atol=1e-11)
    for g, r in zip(grads, ref_grads):
        if r is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-11)
