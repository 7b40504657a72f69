"""linalg, nn and fft on other array libraries (issue 16): Dask stays lazy and agrees with NumPy,
and what a library lacks is refused naming the op.

The op table's strict run (test_backends_op_db.py) covers every entry on array-api-strict; here:
Dask (lazy values and gradients for a sample), the standard-only fallbacks (einsum without
xp.einsum, diagonal_scatter and col2im without writes), and the refusals.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.backend import UnsupportedOnLibrary
from chainrule.ops import linalg as L
from chainrule.ops import nn as N
from chainrule.ops.reduce import sum_p
from chainrule.ops.shape import reshape_p, transpose_p

xs = pytest.importorskip("array_api_strict")
da = pytest.importorskip("dask.array")


def _converted(prim) -> bool:
    impl = prim.impl
    return isinstance(impl, np.ufunc) or "xp" in inspect.signature(impl).parameters


# The losses and the rules below also run sum/reshape/transpose, converted by the reduce and
# shape work of issue 16; until those are in, these end-to-end checks cannot run.
needs_core_ops = pytest.mark.skipif(
    not all(_converted(p) for p in (sum_p, reshape_p, transpose_p)),
    reason="needs sum/reshape/transpose forwards on the inputs' namespace (issue 16, reduce/shape)",
)

rng = np.random.default_rng(7)


def _lazy(t: cr.Tensor) -> bool:
    return type(t._data).__module__.startswith("dask")


def _both(fn, *arrays, chunks=2):
    """``fn`` and the gradient of ``sum(fn(...)**2)`` on NumPy and on Dask tensors."""
    out = []
    for wrap in (lambda a: a, lambda a: da.from_array(a, chunks=chunks)):
        ts = [cr.tensor(wrap(a), requires_grad=a.dtype.kind == "f") for a in arrays]
        y = fn(*ts)
        cr.sum(y * y).backward()
        out.append((y, [t.grad for t in ts if t.requires_grad]))
    return out


CASES = {
    "matmul": (cr.matmul, (rng.standard_normal((4, 3)), rng.standard_normal((3, 5)))),
    "solve": (cr.solve, (rng.standard_normal((4, 4)) + 4 * np.eye(4), rng.standard_normal((4, 2)))),
    "inv": (cr.inv, (rng.standard_normal((4, 4)) + 4 * np.eye(4),)),
    "cholesky": (lambda x: cr.cholesky(cr.matmul(x, x.mT)), (rng.standard_normal((4, 4)) + 4 * np.eye(4),)),
    "cross_entropy_index": (cr.cross_entropy, (rng.standard_normal((4, 3)), np.array([0, 2, 1, 1]))),
    "cross_entropy_probs": (cr.cross_entropy, (rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), 4))),
    "einsum": (lambda a, b: cr.einsum("ij,jk->ik", a, b), (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)))),
    "diagonal": (lambda x: cr.diagonal(x, 1), (rng.standard_normal((4, 4)),)),
    "conv2d": (lambda x, w: cr.conv2d(x, w, stride=2, padding=1),
               (rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)))),  # fmt: skip
    "rfft": (lambda x: cr.imag(cr.fft.rfft(x, axis=1)), (rng.standard_normal((4, 6)),)),
}


@needs_core_ops
@pytest.mark.parametrize("name", list(CASES))
def test_dask_lazy_and_matches_numpy(name: str) -> None:
    fn, arrays = CASES[name]
    chunks = (2, 6) if name == "rfft" else 2  # Dask transforms an axis held in one chunk
    (ref, ref_grads), (out, grads) = _both(fn, *arrays, chunks=chunks)
    assert _lazy(out), type(out._data)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    assert len(grads) == len(ref_grads)
    for g, r in zip(grads, ref_grads):
        assert _lazy(g)
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-9, atol=1e-12)


def test_dask_cholesky_is_the_lower_factor() -> None:
    # array_api_compat hands dask's cholesky its default, the upper factor: L must come back.
    a = rng.standard_normal((4, 4))
    spd = a @ a.T + np.eye(4)
    out = L.cholesky_p.impl(da.from_array(spd, chunks=2), xp=_dask_ns())
    np.testing.assert_allclose(np.asarray(out), np.linalg.cholesky(spd), rtol=1e-12)


def _dask_ns():
    import array_api_compat

    return array_api_compat.array_namespace(da.ones(1))


@pytest.mark.parametrize(
    "subscripts,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
        ("ii,->i", [(3, 3), ()]),
        ("iij,j->ji", [(3, 3, 2), (2,)]),
        ("ij,kl->ljki", [(2, 3), (1, 2)]),
        ("abc,cd->", [(2, 3, 4), (4, 2)]),
        ("ij,ij->j", [(3, 2), (3, 2)]),
    ],
)
def test_einsum_from_standard_functions(subscripts: str, shapes: list) -> None:
    # array-api-strict has no einsum: the forward is the standard-function contraction.
    arrays = [rng.standard_normal(s) for s in shapes]
    got = L.einsum_p.impl(*[xs.asarray(a) for a in arrays], subscripts=subscripts, xp=xs)
    np.testing.assert_allclose(np.asarray(got), np.einsum(subscripts, *arrays), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("offset,axis1,axis2", [(0, 0, 1), (1, 0, 1), (-1, 2, 0), (2, 1, 2)])
def test_diagonal_and_its_scatter_from_standard_functions(offset: int, axis1: int, axis2: int) -> None:
    x = rng.standard_normal((3, 4, 5))
    d = L.diagonal_p.impl(xs.asarray(x), offset=offset, axis1=axis1, axis2=axis2, xp=xs)
    np.testing.assert_array_equal(np.asarray(d), np.diagonal(x, offset, axis1, axis2))
    g = rng.standard_normal(np.diagonal(x, offset, axis1, axis2).shape)
    params = dict(shape=x.shape, offset=offset, axis1=axis1, axis2=axis2)
    got = L.diagonal_scatter_p.impl(xs.asarray(g), xp=xs, **params)
    np.testing.assert_array_equal(np.asarray(got), L.diagonal_scatter_p.impl(g, **params))


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 0)), ((3, 3), (2, 1), (1, 1))])
def test_im2col_col2im_from_standard_functions(kernel, stride, padding) -> None:
    x = rng.standard_normal((2, 3, 6, 5))
    params = dict(kernel=kernel, stride=stride, padding=padding)
    windows = N.im2col_p.impl(x, pad_value=0.0, **params)
    got = N.im2col_p.impl(xs.asarray(x), pad_value=0.0, xp=xs, **params)
    np.testing.assert_array_equal(np.asarray(got), windows)
    g = rng.standard_normal(windows.shape)
    back = N.col2im_p.impl(xs.asarray(g), shape=x.shape, xp=xs, **params)
    np.testing.assert_allclose(np.asarray(back), N.col2im_p.impl(g, shape=x.shape, **params), rtol=1e-12, atol=1e-14)


def test_first_max_mask_from_standard_functions() -> None:
    x = np.array([[1.0, 3.0, 3.0], [np.nan, 2.0, 5.0], [0.0, 0.0, 0.0]]).T
    got = N.first_max_mask_p.impl(xs.asarray(x), axis=0, xp=xs)
    np.testing.assert_array_equal(np.asarray(got), N.first_max_mask_p.impl(x, axis=0))


def test_cross_entropy_forward_on_strict_and_lazy_dask() -> None:
    logits = rng.standard_normal((5, 4))
    target = np.array([3, 0, 1, 1, 2])
    for reduction in ("mean", "sum", "none"):
        ref = N.cross_entropy_p.impl(logits, target, axis=1, reduction=reduction, soft=False)
        got = N.cross_entropy_p.impl(xs.asarray(logits), xs.asarray(target), axis=1, reduction=reduction,
                                     soft=False, xp=xs)  # fmt: skip
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)
    lazy = N.cross_entropy_p.impl(da.from_array(logits, chunks=2), da.from_array(target, chunks=2), axis=1,
                                  reduction="mean", soft=False, xp=_dask_ns())  # fmt: skip
    assert type(lazy).__module__.startswith("dask")
    np.testing.assert_allclose(lazy.compute(), N.cross_entropy_p.impl(logits, target, axis=1, reduction="mean", soft=False))


def test_eig_refused_off_numpy_naming_the_op() -> None:
    x = cr.tensor(xs.asarray(np.triu(rng.standard_normal((3, 3)))))
    with pytest.raises(UnsupportedOnLibrary, match=r"^eig: .*eigh"):
        cr.linalg.eig(x)


def test_missing_linalg_function_refused_naming_op_and_library() -> None:
    x = cr.tensor(da.from_array(rng.standard_normal((3, 3)) + 3 * np.eye(3), chunks=3))
    with pytest.raises(UnsupportedOnLibrary, match=r"^det: needs linalg\.det, which dask"):
        cr.det(x)


def test_missing_fft_extension_refused() -> None:
    class NoFFT:
        __name__ = "nofft"
        float64 = np.float64

    from chainrule.ops import fft as F

    with pytest.raises(UnsupportedOnLibrary, match=r"^rfft: needs the fft extension"):
        F.fft_r2c_p.impl(np.ones(4), axis=0, norm="backward", xp=NoFFT())
