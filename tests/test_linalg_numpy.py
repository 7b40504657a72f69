"""cr.linalg (numpy.linalg's names) and cr.fft: edge cases and errors the op table does not reach.

Values and first/second-order gradients in both modes are checked by the op table
(tests/op_entries/linalg.py); here: repeated eigen/singular values, the forms that refuse to
differentiate, NumPy's dispatch rules of ``norm``, and the clear errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck


def _grad(f, x):
    return cr.grad(f)(cr.tensor(x)).numpy()


# ---------------------------------------------------------------- svd
def test_svd_defaults_match_numpy_full_matrices():
    x = np.random.default_rng(0).standard_normal((4, 2))
    u, s, vh = cr.linalg.svd(x)
    nu, ns, nvh = np.linalg.svd(x)
    assert u.shape == (4, 4) and s.shape == (2,) and vh.shape == (2, 2)
    np.testing.assert_allclose(u.numpy(), nu)
    np.testing.assert_allclose(s.numpy(), ns)
    np.testing.assert_allclose(vh.numpy(), nvh)


def test_svd_full_matrices_on_non_square_refuses_to_differentiate():
    x = cr.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    u, s, vh = cr.linalg.svd(x, full_matrices=True)
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        cr.sum(vh).backward()


def test_singular_values_alone_are_differentiable_where_they_repeat():
    # d(sum of singular values)/dA = U V^T, which is I at A = I although s = (1, 1) repeats.
    g = _grad(lambda a: cr.sum(cr.linalg.svd(a, compute_uv=False)), np.eye(2))
    np.testing.assert_allclose(g, np.eye(2), atol=1e-12)


def test_svd_rejects_vectors_and_integers():
    with pytest.raises(ValueError, match=r"svd: expected a matrix.*\(3,\)"):
        cr.linalg.svd(cr.ones(3))
    with pytest.raises(TypeError, match="svd: expected a float32 or float64"):
        cr.linalg.svd(cr.tensor([[1, 2], [3, 4]]))


# ---------------------------------------------------------------- eigh, eig
def test_eigh_gradient_lives_on_the_triangle_it_reads():
    x = np.random.default_rng(2).standard_normal((3, 3))
    weights = np.array([1.0, -2.0, 0.5])
    for uplo, outside in (("L", np.triu_indices(3, 1)), ("U", np.tril_indices(3, -1))):
        g = _grad(lambda a, uplo=uplo: cr.sum(cr.linalg.eigh(a, uplo)[0] * weights), x)
        assert np.all(g[outside] == 0.0)
        assert np.any(g != 0.0)
    # and the values ignore the other triangle, as NumPy's
    w, _ = cr.linalg.eigh(np.tril(x))
    np.testing.assert_allclose(w.numpy(), np.linalg.eigh(x)[0])


def test_eigvalsh_is_differentiable_where_eigenvalues_repeat():
    # sum of eigenvalues = trace: its gradient is I on the read triangle, at A = I too.
    g = _grad(lambda a: cr.sum(cr.linalg.eigvalsh(a)), np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)


def test_eigh_rejects_a_bad_uplo():
    with pytest.raises(ValueError, match="eigh: UPLO must be 'L' or 'U'"):
        cr.linalg.eigh(cr.eye(2), "X")


def test_eig_refuses_a_complex_spectrum():
    rotation = cr.tensor([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="eig: this matrix has complex eigenvalues"):
        cr.linalg.eig(rotation)


def test_eig_gradient_of_a_non_symmetric_matrix():
    # (dense: where an entry is exactly 0, LAPACK may pick the other sign for an eigenvector
    # than at its perturbations, which finite differences would read as a jump)
    x = np.array([[1.0, 0.3, 0.1], [0.2, 2.0, -0.4], [0.15, 0.1, 3.0]])

    def f(a):
        w, v = cr.linalg.eig(a)
        return cr.sum(w * cr.tensor([1.0, 2.0, 3.0])) + cr.sum(v * v * v)

    assert gradcheck(f, [x])


# ---------------------------------------------------------------- pinv, matrix_power
def test_pinv_rcond_and_rtol_are_exclusive():
    with pytest.raises(ValueError, match="pinv: give rcond or rtol"):
        cr.linalg.pinv(cr.eye(2), rcond=1e-3, rtol=1e-3)


def test_pinv_of_a_rank_deficient_matrix_matches_numpy():
    x = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(cr.linalg.pinv(x).numpy(), np.linalg.pinv(x), atol=1e-14)


def test_matrix_power_zero_and_bad_exponent():
    x = np.random.default_rng(3).standard_normal((2, 3, 3))
    np.testing.assert_array_equal(cr.linalg.matrix_power(x, 0).numpy(), np.linalg.matrix_power(x, 0))
    np.testing.assert_allclose(cr.linalg.matrix_power(x, 5).numpy(), np.linalg.matrix_power(x, 5))
    with pytest.raises(TypeError, match="matrix_power: the exponent must be an integer"):
        cr.linalg.matrix_power(x, 1.5)
    with pytest.raises(ValueError, match="matrix_power: expected a square matrix"):
        cr.linalg.matrix_power(np.ones((2, 3)), 2)


# ---------------------------------------------------------------- norm
@pytest.mark.filterwarnings("ignore:divide by zero")  # ord=-1 at a zero entry: NumPy warns too
@pytest.mark.parametrize("ord", [None, 0.5, 3, -1, 0, np.inf, -np.inf])
def test_vector_norms_match_numpy(ord):
    x = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    for axis in (0, 1, (1,)):
        np.testing.assert_allclose(cr.linalg.norm(x, ord, axis).numpy(), np.linalg.norm(x, ord, axis))


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norms_match_numpy(ord):
    x = np.random.default_rng(4).standard_normal((3, 2, 4))
    for axis in ((0, 1), (2, 0)):
        got = cr.linalg.norm(x, ord, axis, keepdims=True)
        np.testing.assert_allclose(got.numpy(), np.linalg.norm(x, ord, axis, keepdims=True))
    np.testing.assert_allclose(cr.linalg.norm(x[0], ord).numpy(), np.linalg.norm(x[0], ord))


def test_norm_of_order_zero_counts_and_has_no_gradient():
    x = cr.tensor([1.0, 0.0, -2.0], requires_grad=True)
    out = cr.linalg.norm(x, 0)
    assert float(out) == 2.0 and not out.requires_grad


def test_norm_errors_name_the_problem():
    with pytest.raises(ValueError, match="norm: ord='nuc' is a matrix norm"):
        cr.linalg.norm(cr.ones(3), "nuc")
    with pytest.raises(ValueError, match=r"norm: ord=1 with axis=None needs a 1-D or 2-D tensor"):
        cr.linalg.norm(cr.ones((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="norm: invalid ord 3 for a matrix norm"):
        cr.linalg.norm(cr.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="norm: axis 2 is out of range"):
        cr.linalg.norm(cr.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match="norm: axis takes one axis"):
        cr.linalg.norm(cr.ones((2, 2, 2)), axis=(0, 1, 2))


def test_norm_of_a_list_holding_tensors_is_differentiable():
    # autograd's test_norm_list_of_boxes: the norm of (x, x + 2) at x = 0 has derivative 1.
    assert float(cr.grad(lambda x: cr.linalg.norm([x, x + 2.0]))(cr.tensor(0.0))) == 1.0


# ---------------------------------------------------------------- fft
@pytest.mark.parametrize("n", [5, 6])
def test_fftshift_and_ifftshift_match_numpy(n):
    x = np.arange(float(n * 3)).reshape(n, 3)
    for axes in (None, 0, (1,), (0, 1)):
        np.testing.assert_array_equal(cr.fft.fftshift(x, axes).numpy(), np.fft.fftshift(x, axes))
        np.testing.assert_array_equal(cr.fft.ifftshift(x, axes).numpy(), np.fft.ifftshift(x, axes))
    np.testing.assert_array_equal(cr.fft.ifftshift(cr.fft.fftshift(x)).numpy(), x)


def test_fftshift_gradient():
    x = np.random.default_rng(5).standard_normal(5)
    assert gradcheck(lambda t: cr.fft.fftshift(t) * cr.arange(5.0), [x])


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2",
                                  "fftn", "ifftn", "rfftn", "irfftn", "hfft", "ihfft"])
def test_transforms_match_numpy(name):
    x = np.random.default_rng(3).standard_normal((4, 6))
    np.testing.assert_allclose(getattr(cr.fft, name)(x).numpy(), getattr(np.fft, name)(x), atol=1e-12)


# ---------------------------------------------------------------- einsum: '...', broadcasting, interleaved
@pytest.mark.parametrize("spec,shapes", [
    ("i...", [(2, 3, 4)]),
    ("ba...", [(2, 3, 4)]),
    ("...,...", [(3,), (2, 3)]),
    ("...ij,j...->...i", [(2, 1, 3, 4), (4, 1, 5)]),
    ("ij...,jk...->ik...", [(2, 3), (3, 4, 5)]),
    ("i,i", [(1,), (3,)]),
    ("...", [(2, 3)]),
])  # fmt: skip
def test_einsum_ellipsis_and_broadcast_match_numpy(spec, shapes):
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal(s) for s in shapes]
    got, ref = cr.einsum(spec, *xs).numpy(), np.einsum(spec, *xs)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert gradcheck(lambda *a: cr.einsum(spec, *a), xs)


def test_einsum_ellipsis_under_vmap():
    b = np.random.default_rng(7).standard_normal((3, 4))
    x = np.random.default_rng(8).standard_normal((4, 5, 2, 3))
    out = cr.vmap(lambda t: cr.einsum("...ij,...jk->...ik", t, b))(cr.tensor(x))
    np.testing.assert_allclose(out.numpy(), np.einsum("...ij,...jk->...ik", x, b), atol=1e-12)


def test_einsum_ellipsis_errors():
    with pytest.raises(ValueError, match=r"operand 0 has 1 dimension\(s\).*'\.\.\.ij' name 2 besides"):
        cr.einsum("...ij", cr.ones(2))
    with pytest.raises(ValueError, match=r"'\.\.\.' dimensions of the operands \(\(2,\), \(4,\)\) do not broadcast"):
        cr.einsum("...i,...i", cr.ones((2, 3)), cr.ones((4, 3)))
    with pytest.raises(ValueError, match="an ellipsis is written '...'"):
        cr.einsum("..i", cr.ones(2))
    with pytest.raises(ValueError, match="may hold one '...'"):
        cr.einsum("......", cr.ones(2))


def test_einsum_interleaved_form():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(cr.einsum(a, [0, 1], b, [1, 2], [0, 2]).numpy(), a @ b, atol=1e-12)
    np.testing.assert_allclose(cr.einsum(a, [Ellipsis, 1], b, [1, 2]).numpy(), a @ b, atol=1e-12)
    with pytest.raises(ValueError, match=r"a subscript must be an int in \[0, 52\) or \.\.\., got 'x'"):
        cr.einsum(a, [0, "x"])
    with pytest.raises(TypeError, match="interleaved form"):
        cr.einsum(a, 3)


# ---------------------------------------------------------------- through NumPy's own functions
def test_numpy_linalg_norm_on_a_tensor_has_numpy_semantics():
    # ord=1 of a matrix is its largest column sum (here 3), not the sum of all |entries| (9).
    x = np.arange(6.0).reshape(2, 3) - 2
    assert float(np.linalg.norm(cr.tensor(x), 1)) == np.linalg.norm(x, 1) == 3.0
    assert float(np.linalg.norm(cr.tensor(x), "nuc")) == pytest.approx(np.linalg.norm(x, "nuc"))


def test_numpy_linalg_and_fft_functions_dispatch_to_chainrule():
    x = cr.tensor(np.random.default_rng(10).standard_normal((3, 3)), requires_grad=True)
    s = np.linalg.svd(x, compute_uv=False)
    w, v = np.linalg.eigh(x)
    p = np.linalg.pinv(x)
    shifted = np.fft.fftshift(x)
    for out in (s, w, v, p, shifted):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    out = np.einsum(x, [0, 1], [1])
    assert isinstance(out, cr.Tensor) and out.requires_grad
