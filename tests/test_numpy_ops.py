"""Edge cases of NumPy's further functions (issue 17); values and gradients at ordinary points
are checked by the op table (tests/op_entries/numpy_more.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


# ---------------------------------------------------------------- elementwise
def test_sinc_derivatives_at_zero_are_exact() -> None:
    # sinc(x) = 1 - (pi x)^2/6 + (pi x)^4/120 - ...: f'(0) = 0, f''(0) = -pi^2/3, f''''(0) = pi^4/5.
    d1 = cr.grad(cr.sinc)
    d2 = cr.grad(d1)
    d3 = cr.grad(d2)
    d4 = cr.grad(d3)
    x = cr.tensor(0.0)
    assert float(d1(x)) == 0.0
    assert float(d2(x)) == pytest.approx(-math.pi**2 / 3, rel=1e-12)
    assert float(d3(x)) == 0.0
    assert float(d4(x)) == pytest.approx(math.pi**4 / 5, rel=1e-12)
    # ... and continuous across the switch from series to closed form (|pi x| = 2).
    for k, d in enumerate((d1, d2, d3), start=1):
        lo, hi = float(d(cr.tensor(2 / math.pi - 1e-9))), float(d(cr.tensor(2 / math.pi + 1e-9)))
        assert lo == pytest.approx(hi, rel=1e-6, abs=1e-8), k


def test_fmax_fmin_send_the_gradient_to_the_number_not_the_nan() -> None:
    x = cr.tensor([np.nan, 1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([5.0, np.nan, 2.0, 1.0], requires_grad=True)
    cr.sum(cr.fmax(x, y)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.5, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0, 0.5, 0.0])
    x.grad = y.grad = None
    cr.sum(cr.fmin(x, y)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0, 0.5, 1.0])


def test_nan_to_num_gradient_is_zero_at_replaced_entries_even_for_an_inf_seed() -> None:
    x = cr.tensor([np.nan, np.inf, -np.inf, 2.0], requires_grad=True)
    y = cr.nan_to_num(x)
    np.testing.assert_array_equal(y.numpy(), np.nan_to_num(x.numpy()))
    with np.errstate(over="ignore"):
        cr.sum(y * y).backward()  # the seed 2y is inf at the replaced infinities
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 4.0])


def test_nan_to_num_refuses_a_tensor_replacement() -> None:
    with pytest.raises(TypeError, match="nan_to_num: nan must be a number.*where"):
        cr.nan_to_num(cr.tensor([1.0]), nan=cr.tensor(2.0))


def test_hypot_gradient_at_the_origin_is_zero_and_elsewhere_the_unit_vector() -> None:
    x = cr.tensor([0.0, 3.0], requires_grad=True)
    y = cr.tensor([0.0, 4.0], requires_grad=True)
    cr.sum(cr.hypot(x, y)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.6])
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.8])


def test_logaddexp_gradients_stay_finite_for_large_inputs() -> None:
    x = cr.tensor([1000.0, -1000.0], requires_grad=True)
    cr.sum(cr.logaddexp(x, cr.tensor([1000.0, 0.0]))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.0])
    x.grad = None
    cr.sum(cr.logaddexp2(x, cr.tensor([1000.0, 0.0]))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 2.0**-1000], rtol=1e-12)


def test_fabs_and_angle_conversions_make_floats_of_integers() -> None:
    assert cr.fabs(cr.tensor([-2, 3])).dtype == np.float64
    np.testing.assert_array_equal(cr.fabs(cr.tensor([-2, 3])).numpy(), np.fabs([-2, 3]))
    assert cr.deg2rad(cr.tensor([180])).dtype == np.float64
    assert cr.rad2deg(cr.tensor(np.float32(1.0))).dtype == np.float32


# ---------------------------------------------------------------- sorting
def test_sort_gradient_follows_the_permutation_in_both_modes() -> None:
    x0 = np.array([0.3, -1.2, 2.5, 0.1])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    g = cr.grad(lambda x: cr.sum(cr.sort(x) * w))(cr.tensor(x0))
    # sorted order: -1.2 (index 1), 0.1 (3), 0.3 (0), 2.5 (2)
    np.testing.assert_array_equal(g.numpy(), [100.0, 1.0, 1000.0, 10.0])
    _, t = cr.jvp(cr.sort, (cr.tensor(x0),), (cr.tensor(w),))
    np.testing.assert_array_equal(t.numpy(), [10.0, 1000.0, 1.0, 100.0])
    h = cr.hessian(lambda x: cr.sum(cr.sort(x) ** 3))(cr.tensor(x0))
    np.testing.assert_allclose(h.numpy(), np.diag(6 * x0))


def test_sort_puts_nans_last_and_keeps_their_gradient_apart() -> None:
    x = cr.tensor([np.nan, 2.0, -1.0], requires_grad=True)
    y = cr.sort(x)
    np.testing.assert_array_equal(y.numpy(), np.sort(x.numpy()))
    cr.sum(y * cr.tensor([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 2.0, 1.0])


def test_partition_puts_the_kth_entry_in_place_and_routes_gradients() -> None:
    x0 = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    x = cr.tensor(x0, requires_grad=True)
    y = cr.partition(x, 2)
    assert float(y[2]) == 3.0
    assert np.all(y.numpy()[:2] <= 3.0) and np.all(y.numpy()[3:] >= 3.0)
    y[2].backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 0.0, 1.0])


def test_sorting_errors_are_clear() -> None:
    with pytest.raises(ValueError, match=r"sort: axis 2 is out of range for a tensor with 2 dimensions"):
        cr.sort(cr.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="sort: order= sorts structured arrays"):
        cr.sort(cr.ones(3), order="f")
    with pytest.raises(ValueError, match=r"partition: kth 5 is out of range for an axis of size 3"):
        cr.partition(cr.ones(3), 5)
    with pytest.raises(ValueError, match="sort: needs an input of at least 1 dimension"):
        cr.sort(cr.tensor(1.0))
    assert cr.sort(cr.tensor(1.0), axis=None).shape == (1,)


# ---------------------------------------------------------------- shapes and products
def test_tril_triu_select_so_that_inf_above_the_diagonal_gives_zero() -> None:
    x = cr.tensor([[1.0, np.inf], [np.nan, 2.0]], requires_grad=True)
    np.testing.assert_array_equal(cr.tril(x).numpy(), np.tril(x.numpy()))
    np.testing.assert_array_equal(cr.triu(x).numpy(), np.triu(x.numpy()))
    cr.sum(cr.tril(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0], [1.0, 1.0]])


def test_r_and_c_keep_the_gradient_that_numpys_own_drop() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.r_[x, 0.0, 3 * x]
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0, 0.0, 3.0, 6.0])
    cr.sum(y).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    x.grad = None
    cr.sum(cr.c_[x, x * x]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 5.0])
    # Constants only: NumPy's own result.
    np.testing.assert_array_equal(cr.r_[0:1:5j].numpy(), np.r_[0:1:5j])


def test_atleast_with_several_inputs_gives_a_tuple() -> None:
    a, b = cr.atleast_3d(cr.tensor(1.0), cr.ones(2))
    assert (a.shape, b.shape) == ((1, 1, 1), (1, 2, 1))
    t = cr.tensor([1.0])
    assert cr.atleast_1d(t) is t


def test_gradient_of_gradient_matches_finite_differences_of_a_quadratic() -> None:
    # np.gradient of x**2 on a unit grid is exact in the interior (2x): a linear map's gradient
    # is its transpose, checked here on the weighted sum.
    w = np.arange(1.0, 6.0)
    g = cr.grad(lambda f: cr.sum(cr.gradient(f) * w))(cr.tensor(np.zeros(5)))
    eye = np.eye(5)
    want = np.array([np.sum(np.gradient(eye[i]) * w) for i in range(5)])
    np.testing.assert_allclose(g.numpy(), want)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: cr.tril(cr.tensor(1.0)), ValueError, "tril: needs at least 1 dimension"),
        (lambda: cr.triu(cr.ones((2, 2)), k=0.5), TypeError, "triu: k must be an int"),
        (lambda: cr.diag(cr.ones((2, 2, 2))), ValueError, r"diag: .*1-d .* or 2-d .*shape \(2, 2, 2\); use diagonal"),
        (lambda: cr.append(cr.ones((2, 3)), cr.ones(3), axis=0), ValueError,
         r"append: arr of shape \(2, 3\) and values of shape \(3,\) differ .*axis=None"),
        (lambda: cr.vstack(cr.tensor(1.0)), TypeError, r"vstack: expects a sequence of arrays, got a 0-d Tensor; wrap it in a list"),
        (lambda: cr.vsplit(cr.ones(4), 2), ValueError, r"vsplit: needs a tensor of at least 2 dimension\(s\), got shape \(4,\)"),
        (lambda: cr.dsplit(cr.ones((2, 2)), 2), ValueError, "dsplit: needs a tensor of at least 3"),
        (lambda: cr.array_split(cr.ones(4), 0), ValueError, "array_split: the number of sections must be positive"),
        (lambda: cr.hsplit(cr.ones((2, 5)), 2), ValueError, "split: an axis of size 5 cannot be split into 2 equal"),
        (lambda: cr.rot90(cr.ones((2, 2)), axes=(1, 1)), ValueError, "rot90: the two axes must differ"),
        (lambda: cr.rot90(cr.ones(2)), ValueError, "rot90: needs a tensor of at least 2 dimensions"),
        (lambda: cr.fliplr(cr.ones(2)), ValueError, r"fliplr: needs a tensor of at least 2 dimensions, got shape \(2,\)"),
        (lambda: cr.rollaxis(cr.ones((2, 3)), 0, 5), ValueError, "rollaxis: start 5 is out of range"),
        (lambda: cr.diff(cr.ones(3), n=-1), ValueError, "diff: the order n must be non-negative"),
        (lambda: cr.diff(cr.tensor(1.0)), ValueError, "diff: needs an input of at least 1 dimension"),
        (lambda: cr.gradient(cr.ones(1)), ValueError, "gradient: axis 0 has 1 entries; edge_order=1 needs at least 2"),
        (lambda: cr.gradient(cr.ones((2, 3)), 1.0, 2.0, 3.0), TypeError, "gradient: 3 spacings for 2 axes"),
        (lambda: cr.gradient(cr.ones(3), [0.0, 1.0]), ValueError, "gradient: 2 coordinates along axis 0, whose size is 3"),
        (lambda: cr.gradient(cr.ones(3), cr.tensor(1.0, requires_grad=True)), TypeError,
         r"gradient: a spacing that requires grad is not supported.*detach"),
        (lambda: cr.gradient(cr.ones(3), edge_order=3), ValueError, "gradient: edge_order must be 1 or 2"),
        (lambda: cr.tensordot(cr.ones((2, 3)), cr.ones((2, 3)), axes=([0], [1])), ValueError,
         r"tensordot: shape mismatch for sum: axis 0 of a \(shape \(2, 3\)\) has size 2 but axis 1 of b"),
        (lambda: cr.tensordot(cr.ones(2), cr.ones(2), axes=([0], [0, 1])), ValueError, "tensordot: 1 axes of a but 2 of b"),
        (lambda: cr.tensordot(cr.ones(2), cr.ones(2), axes=3), ValueError, "tensordot: axes=3 needs"),
        (lambda: cr.inner(cr.ones(2), cr.ones(3)), ValueError, r"inner: the last dimensions of shapes \(2,\) and \(3,\) differ"),
        (lambda: cr.cross(cr.ones(4), cr.ones(3)), ValueError, "cross: incompatible vector sizes 4 and 3"),
        (lambda: cr.select([cr.ones(2)], [cr.ones(2)]), TypeError, "select: condition 0 has dtype float64, not bool"),
        (lambda: cr.select([cr.ones(2) > 0], []), ValueError, "select: 1 conditions but 0 choices"),
        (lambda: cr.r_["r", cr.ones(2)], ValueError, "r_: the matrix directives 'r' and 'c'"),
        (lambda: cr.r_[cr.ones(2), "0"], ValueError, "r_: a directive string must be the first entry"),
        (lambda: cr.c_["x", cr.ones(2)], ValueError, "c_: unknown directive 'x'"),
    ],
)
def test_errors_name_the_op_the_shapes_and_the_fix(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- NumPy's own functions on tensors
def test_numpy_functions_and_ufuncs_on_tensors_run_the_chainrule_ops() -> None:
    x = cr.tensor([[0.3, -1.2], [2.5, 0.1]], requires_grad=True)
    outs = [
        np.exp2(x), np.arcsinh(x), np.hypot(x, 1.0), np.logaddexp(x, x), np.fmax(x, 0.0),
        np.sinc(x), np.nan_to_num(x), np.tril(x), np.vstack([x, x]), np.diff(x), np.sort(x),
        np.gradient(x, axis=0), np.kron(x, x), np.tensordot(x, x), np.cross(x, x), np.rot90(x),
        np.select([x > 0], [x]), np.atleast_3d(x), np.diag(x), np.inner(x, x),
    ]
    for out in outs:
        assert isinstance(out, cr.Tensor) and out.requires_grad
    (g,) = cr.autograd.grad(cr.sum(np.sort(x, axis=None) * cr.arange(4.0)), [x])
    np.testing.assert_array_equal(g.numpy(), [[2.0, 0.0], [3.0, 1.0]])
