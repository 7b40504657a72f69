"""Complex values: JAX's gradient convention, the ops whose rules hold for complex values (checked
against finite differences in the real and imaginary parts, both modes, second order), and the
clear refusal of the others."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import registry
from chainrule.ops.complex import COMPLEX_SAFE
from chainrule.testing import check_grads


def _z(shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.4, 1.2, shape) * rng.choice([-1, 1], shape) + 1j * rng.uniform(0.4, 1.2, shape)


def _fd_grad(f, z, eps=1e-6):
    """dL/dx - i dL/dy by central differences (the convention's gradient, derived by hand)."""
    out = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        for unit, weight in ((1.0, 1.0), (1j, -1j)):
            zp, zm = z.copy(), z.copy()
            zp[idx] += eps * unit
            zm[idx] -= eps * unit
            out[idx] += weight * (float(f(cr.tensor(zp))) - float(f(cr.tensor(zm)))) / (2 * eps)
    return out


# ---------------------------------------------------------------- the convention
def test_grad_of_squared_modulus_is_dx_minus_i_dy():
    # |z|^2 = x^2 + y^2: dL/dx - i dL/dy = 2x - 2iy = 6 - 8j at 3 + 4j (JAX's value).
    z = cr.tensor(3 + 4j)
    assert (cr.grad(lambda z: cr.abs(z) ** 2)(z).item()) == pytest.approx(6 - 8j)
    assert (cr.grad(lambda z: cr.real(z * cr.conj(z)))(z).item()) == pytest.approx(6 - 8j)


def test_grad_of_real_and_imag_parts():
    z = cr.tensor(1 - 2j)
    assert cr.grad(cr.real)(z).item() == 1
    assert cr.grad(cr.imag)(z).item() == -1j  # d/dx y - i d/dy y


def test_holomorphic_op_gets_no_conjugate():
    # L = Re(z^2) = x^2 - y^2: 2x + 2iy = 2z.
    z = cr.tensor(0.5 + 1.5j)
    assert cr.grad(lambda z: cr.real(z * z))(z).item() == pytest.approx(2 * (0.5 + 1.5j))


def test_backward_into_complex_leaf_and_real_leaf():
    z = cr.tensor(np.array([1 + 1j, -2 + 0.5j]), requires_grad=True)
    x = cr.tensor(np.array([0.3, -0.7]), requires_grad=True)
    loss = cr.sum(cr.abs(z * x) ** 2)  # |z|^2 x^2
    loss.backward()
    zz = z.numpy()
    np.testing.assert_allclose(z.grad.numpy(), 2 * np.conj(zz) * x.numpy() ** 2)
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.abs(zz) ** 2 * x.numpy())


def test_abs_and_angle_at_zero_give_zero():
    z = cr.tensor(np.array([0j, 1j]))
    np.testing.assert_array_equal(cr.grad(lambda z: cr.sum(cr.abs(z)))(z).numpy()[0], 0)
    np.testing.assert_array_equal(cr.grad(lambda z: cr.sum(cr.angle(z)))(z).numpy()[0], 0)


# ---------------------------------------------------------------- every complex-safe op, checked
_CASES = {
    "add": lambda z: z + z * (0.5 - 1j), "sub": lambda z: z - z * z, "neg": lambda z: -z * z,
    "mul": lambda z: z * z * (2 + 1j), "div": lambda z: (1 + 1j) / z + z / (2 - 1j),
    "square": cr.square, "sqrt": cr.sqrt, "reciprocal": lambda z: cr.reciprocal(z),
    "pow": lambda z: z ** 3 + z ** 2.5, "exp": cr.exp, "expm1": cr.expm1, "log": cr.log,
    "log1p": cr.log1p, "log2": cr.log2, "log10": cr.log10, "sin": cr.sin, "cos": cr.cos, "tan": cr.tan,
    "sinh": cr.sinh, "cosh": cr.cosh, "tanh": cr.tanh,
    "sum": lambda z: cr.sum(z * z, axis=0), "mean": lambda z: cr.mean(z * z, axis=-1),
    "reshape": lambda z: cr.reshape(z * z, (-1,)), "transpose": lambda z: cr.transpose(z) * z[:2, 0],
    "getitem": lambda z: z[1:, ::-1] * z[0, 0], "concat2": lambda z: cr.concatenate([z, z * z]),
    "matmul": lambda z: z @ cr.transpose(z * z), "einsum": lambda z: cr.einsum("ij,kj->ik", z, z * z),
    "broadcast_to": lambda z: cr.broadcast_to(z[0] * z[0], (2, 3)), "sum_to": lambda z: z + z[0],
    "astype": lambda z: cr.real(z).astype("complex128") * z, "pad": lambda z: cr.fft.fft(z, 5) * 1,
    "roll": lambda z: cr.roll(z * z, 1, 0), "flip": lambda z: cr.flip(z * z, 1),
    "where": lambda z: cr.where(cr.tensor([[True, False, True]]), z * z, z),
    "cumsum": lambda z: cr.cumsum(z * z, axis=1), "diagonal": lambda z: cr.diagonal(z[:, :2] * z[:, 1:]),
    "index_add": lambda z: z[[0, 0, 1]] * 2,
}
# (the VJP of diagonal; the check above differentiates it at second order)
_CASES["diagonal_scatter"] = _CASES["diagonal"]


def _read(y):
    return cr.real(y) * 1.3 + cr.imag(y) * 0.7


def test_every_complex_safe_op_has_a_case():
    assert sorted(_CASES) == sorted(n for n in COMPLEX_SAFE if n in registry)


@pytest.mark.parametrize("name", sorted(_CASES))
def test_complex_safe_op_gradient_matches_finite_differences(name):
    np.random.seed(1)
    z = _z((2, 3), seed=len(name))
    f = _CASES[name]
    g = cr.grad(lambda t: cr.sum(_read(f(t))))(cr.tensor(z)).numpy()
    np.testing.assert_allclose(g, _fd_grad(lambda t: cr.sum(_read(f(t))), z), rtol=1e-6, atol=1e-6)
    # both modes, second order, complex directions (autograd's check with the convention)
    check_grads(f, modes=("fwd", "rev"), order=2)(z)


@pytest.mark.parametrize("name", ["real", "imag", "conj", "abs", "angle"])
def test_complex_parts_check_grads_both_modes_second_order(name):
    np.random.seed(2)
    check_grads(lambda z: getattr(cr, name)(z * z), modes=("fwd", "rev"), order=2)(_z((4,)))


@pytest.mark.parametrize("name", ["fft", "ifft", "fft2", "ifftn", "irfft", "irfft2", "hfft"])
def test_transforms_of_complex_inputs_check_grads(name):
    np.random.seed(3)
    check_grads(getattr(cr.fft, name), modes=("fwd", "rev"), order=2)(_z((4, 6)))


@pytest.mark.parametrize("name", ["rfft", "rfft2", "rfftn", "ihfft"])
def test_real_input_transforms_check_grads(name):
    np.random.seed(4)
    check_grads(getattr(cr.fft, name), modes=("fwd", "rev"), order=2)(np.random.randn(4, 5))


def test_parseval_gradient():
    # sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x.
    x = np.random.default_rng(0).standard_normal(6)
    g = cr.grad(lambda x: cr.sum(cr.abs(cr.fft.fft(x)) ** 2))(cr.tensor(x))
    np.testing.assert_allclose(g.numpy(), 12 * x)


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("name,fn", [
    ("max", lambda z: cr.max(z)), ("sign", cr.sign), ("maximum", lambda z: cr.maximum(z, z * 2)),
    ("clip", lambda z: cr.clip(z, 0, 1)), ("var", lambda z: cr.var(z)),
    ("prod", lambda z: cr.prod(z)),
])  # fmt: skip
def test_ops_without_complex_rules_refuse_a_tracked_complex_value(name, fn):
    z = cr.tensor(_z((3,)), requires_grad=True)
    with pytest.raises(TypeError, match=f"{name}: cannot differentiate through this op with a complex"):
        fn(z)
    with pytest.raises(TypeError, match=f"{name}: cannot differentiate"):
        cr.jvp(fn, (cr.tensor(_z((3,))),), (cr.tensor(_z((3,), seed=1)),))
    # without gradient the value is computed
    assert fn(cr.tensor(_z((3,)))) is not None


def test_refusal_for_complex_result_from_real_input():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="maximum: .*complex result"):
        cr.maximum(x, 1j)


def test_complex_tensors_are_accepted_and_may_require_grad():
    t = cr.tensor([1 + 2j], dtype=np.complex64, requires_grad=True)
    assert t.dtype == np.complex64 and t.requires_grad
    with pytest.raises(TypeError, match="only floating-point or complex"):
        cr.tensor([1, 2]).requires_grad_()


def test_norm_refuses_complex():
    with pytest.raises(TypeError, match="norm: expected a real tensor"):
        cr.linalg.norm(cr.tensor(_z((3,)), requires_grad=True))


def test_rfft_refuses_complex_input():
    with pytest.raises(TypeError, match="rfft: the input must be real"):
        cr.fft.rfft(cr.tensor([1j, 2.0]))


def test_grad_refuses_complex_output():
    with pytest.raises(TypeError, match="floating-point scalar"):
        cr.grad(lambda z: z * z)(cr.tensor(1 + 1j))
