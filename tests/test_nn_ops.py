"""Focused tests for ops/nn.py: numerical stability at |x| = 1e4 in float32 and float64 (against
float64 references computed here from stable formulas), the fused cross-entropy gradient, conv
and pooling semantics, dropout, error messages, and JVP rules against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import nn
from chainrule.ops.nn import col2im_p, cross_entropy_p, im2col_p, log_softmax_p
from tests.test_linalg_ops import check_jvp_rules

RNG = np.random.default_rng(99)
DTYPES = [np.float32, np.float64]


# ---------------------------------------------------------------- stable float64 references
# Extended precision where the platform has it, so the float64 reference is not itself the
# limit: at |x| = 1e4 one float64 ulp is already 2e-12.
_WIDE = np.longdouble


def _ref_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x.astype(_WIDE)
    z = z - np.max(z, axis=axis, keepdims=True)
    return (z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))).astype(np.float64)


def _ref_sigmoid(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _ref_bce(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def _huge_logits(dtype: type) -> np.ndarray:
    """Rows mixing +-1e4 with near-ties and ordinary values, exactly representable in ``dtype``."""
    fixed = np.array([[1e4, -1e4, 0.0, 9999.5], [-1e4, -1e4, -1e4, -9998.0], [1e4, 1e4, -3.0, 2.5]])
    random = RNG.uniform(-1e4, 1e4, size=(2, 4))
    return np.concatenate([fixed, random]).astype(dtype)


def _tols(dtype: type, scale: float) -> dict[str, float]:
    eps = float(np.finfo(dtype).eps)
    return {"rtol": 8 * eps, "atol": 8 * eps * scale}


# ---------------------------------------------------------------- stability at |x| = 1e4
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_and_softmax_stable_at_1e4(dtype: type) -> None:
    x = _huge_logits(dtype)
    t = cr.tensor(x, requires_grad=True)
    logp = cr.log_softmax(t)
    p = cr.softmax(t)
    assert logp.dtype == dtype and p.dtype == dtype
    assert np.all(np.isfinite(logp.numpy())) and np.all(np.isfinite(p.numpy()))
    ref = _ref_log_softmax(x)
    np.testing.assert_allclose(logp.numpy(), ref, **_tols(dtype, 2e4))
    np.testing.assert_allclose(p.numpy(), np.exp(ref), **_tols(dtype, 1.0))
    w = RNG.standard_normal(x.shape)
    cr.sum(p * cr.tensor(w.astype(dtype))).backward()
    sm = np.exp(ref)
    expected = sm * (w - np.sum(w * sm, axis=-1, keepdims=True))
    assert t.grad.dtype == dtype and np.all(np.isfinite(t.grad.numpy()))
    np.testing.assert_allclose(t.grad.numpy(), expected, **_tols(dtype, 10.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_indices_stable_at_1e4(dtype: type, reduction: str) -> None:
    x = _huge_logits(dtype)
    target = np.array([1, 3, 0, 2, 1])
    t = cr.tensor(x, requires_grad=True)
    loss = cr.cross_entropy(t, cr.tensor(target), reduction=reduction)
    assert loss.dtype == dtype
    ref_logp = _ref_log_softmax(x)
    losses = -ref_logp[np.arange(5), target]
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(loss.numpy(), ref, **_tols(dtype, 2e4))
    cr.sum(loss).backward()
    scale = 1 / 5 if reduction == "mean" else 1.0
    expected = (np.exp(ref_logp) - np.eye(4)[target]) * scale
    assert t.grad.dtype == dtype and np.all(np.isfinite(t.grad.numpy()))
    np.testing.assert_allclose(t.grad.numpy(), expected, **_tols(dtype, 1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probabilities_stable_at_1e4(dtype: type) -> None:
    x = _huge_logits(dtype)
    q = RNG.uniform(0.1, 1.0, size=x.shape)
    q = (q / q.sum(-1, keepdims=True)).astype(dtype)
    t = cr.tensor(x, requires_grad=True)
    qt = cr.tensor(q, requires_grad=True)
    loss = cr.cross_entropy(t, qt)
    ref_logp = _ref_log_softmax(x)
    q64 = q.astype(np.float64)
    np.testing.assert_allclose(loss.numpy(), -np.mean(np.sum(q64 * ref_logp, -1)), **_tols(dtype, 2e4))
    loss.backward()
    n = x.shape[0]
    expected = (np.exp(ref_logp) * q64.sum(-1, keepdims=True) - q64) / n
    np.testing.assert_allclose(t.grad.numpy(), expected, **_tols(dtype, 1.0))
    np.testing.assert_allclose(qt.grad.numpy(), -ref_logp / n, **_tols(dtype, 2e4 / n))
    assert np.all(np.isfinite(t.grad.numpy())) and np.all(np.isfinite(qt.grad.numpy()))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_stable_at_1e4(dtype: type) -> None:
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.5, -9999.0, 20.0, -20.0]).astype(dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7, 1.0, 0.0]).astype(dtype)
    t = cr.tensor(x, requires_grad=True)
    losses = cr.binary_cross_entropy_with_logits(t, cr.tensor(y), reduction="none")
    assert losses.dtype == dtype and np.all(np.isfinite(losses.numpy()))
    np.testing.assert_allclose(losses.numpy(), _ref_bce(x, y), **_tols(dtype, 2e4))
    cr.sum(losses).backward()
    np.testing.assert_allclose(t.grad.numpy(), _ref_sigmoid(x) - y.astype(np.float64), **_tols(dtype, 1.0))
    mean = cr.binary_cross_entropy_with_logits(cr.tensor(x), cr.tensor(y))
    np.testing.assert_allclose(mean.numpy(), _ref_bce(x, y).mean(), **_tols(dtype, 2e4))


# ---------------------------------------------------------------- cross-entropy behaviour
def test_cross_entropy_gradient_is_fused_softmax_minus_onehot() -> None:
    logits = RNG.standard_normal((6, 5))
    target = RNG.integers(0, 5, size=6)
    t = cr.tensor(logits, requires_grad=True)
    loss = cr.cross_entropy(t, target)
    assert loss.grad_fn.name == "CrossEntropyLossBackward0"
    loss.backward()
    p = np.exp(_ref_log_softmax(logits))
    np.testing.assert_allclose(t.grad.numpy(), (p - np.eye(5)[target]) / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,axis", [((4, 3), 1), ((2, 3, 2), 1), ((5,), 0), ((3, 2), 0)])
def test_cross_entropy_raw_fast_path_equals_the_primitive_rule(shape: tuple[int, ...], axis: int,
                                                               reduction: str) -> None:  # fmt: skip
    logits = RNG.standard_normal(shape) * 3
    target = RNG.integers(0, shape[axis], size=shape[:axis] + shape[axis + 1 :])
    ans = cross_entropy_p.impl(logits, target, axis=axis, reduction=reduction, soft=False)
    g = RNG.standard_normal(np.shape(ans))
    params = {"axis": axis, "reduction": reduction, "soft": False}
    rule = cross_entropy_p.vjp_rules[0]
    fast = rule(g, ans, logits, target, **params)  # raw arrays: the fused NumPy path
    slow = rule(cr.tensor(g), cr.tensor(ans), cr.tensor(logits, requires_grad=True), cr.tensor(target), **params)
    assert isinstance(fast, np.ndarray) and isinstance(slow, cr.Tensor) and slow.requires_grad
    np.testing.assert_allclose(fast, slow.numpy(), rtol=1e-12, atol=1e-15)
    # and the fused path leaves its inputs alone
    assert np.array_equal(cross_entropy_p.impl(logits, target, **params), ans)


def test_cross_entropy_none_reduction_weights_each_sample() -> None:
    logits = RNG.standard_normal((3, 4))
    target = np.array([0, 3, 2])
    t = cr.tensor(logits, requires_grad=True)
    w = np.array([1.0, -2.0, 0.5])
    cr.sum(cr.cross_entropy(t, target, reduction="none") * cr.tensor(w)).backward()
    p = np.exp(_ref_log_softmax(logits))
    np.testing.assert_allclose(t.grad.numpy(), (p - np.eye(4)[target]) * w[:, None], rtol=1e-12)


def test_cross_entropy_hessian_vector_product() -> None:
    logits = RNG.standard_normal((2, 3))
    target = np.array([2, 0])
    v = RNG.standard_normal((2, 3))
    t = cr.tensor(logits, requires_grad=True)
    (g,) = cr.autograd.grad(cr.cross_entropy(t, target), t, create_graph=True)
    (hv,) = cr.autograd.grad(cr.sum(g * cr.tensor(v)), t)
    # The Hessian of mean CE is blockdiag(diag(p) - p p^T) / N.
    p = np.exp(_ref_log_softmax(logits))
    expected = (p * v - p * np.sum(p * v, -1, keepdims=True)) / 2
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_cross_entropy_float32_path() -> None:
    logits = cr.tensor(RNG.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    loss = cr.cross_entropy(logits, np.array([0, 1, 2, 1], dtype=np.int32))
    assert loss.dtype == np.float32
    loss.backward()
    assert logits.grad.dtype == np.float32


def test_cross_entropy_errors() -> None:
    logits = cr.ones((3, 4))
    with pytest.raises(IndexError, match=r"cross_entropy: class index 4 is out of range for 4 classes"):
        cr.cross_entropy(logits, cr.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match=r"class index -1 is out of range"):
        cr.cross_entropy(logits, cr.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"class-index target has shape \(2,\) but logits of shape \(3, 4\).*\(3,\)"):
        cr.cross_entropy(logits, cr.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"probability target has shape \(3, 3\) but logits have shape \(3, 4\)"):
        cr.cross_entropy(logits, cr.ones((3, 3)))
    with pytest.raises(ValueError, match="reduction must be"):
        cr.cross_entropy(logits, cr.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(TypeError, match="target must hold integer class indices or float probabilities"):
        cr.cross_entropy(logits, cr.tensor([True, False, True]))
    with pytest.raises(TypeError, match="logits must be float32 or float64"):
        cr.cross_entropy(cr.tensor([[1, 2]]), cr.tensor([0]))


# ---------------------------------------------------------------- other losses and one_hot
def test_mse_and_errors() -> None:
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = cr.mse(a, cr.tensor([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(loss.numpy(), 13 / 3)
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 4 / 3, 2.0])
    with pytest.raises(ValueError, match=r"mse: pred has shape \(3,\) but target has shape \(3, 1\)"):
        cr.mse(a, cr.ones((3, 1)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: logits has shape"):
        cr.binary_cross_entropy_with_logits(a, cr.ones(2))


def test_one_hot() -> None:
    out = cr.one_hot(cr.tensor([[2, 0], [1, 1]]))
    assert out.shape == (2, 2, 3) and out.dtype == np.float64 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(3)[[[2, 0], [1, 1]]])
    assert cr.one_hot(np.array([1]), 2, dtype="float32").dtype == np.float32
    with pytest.raises(IndexError, match=r"one_hot: class index 3 is out of range for 3 classes"):
        cr.one_hot(cr.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="indices must be integers"):
        cr.one_hot(cr.tensor([0.0, 1.0]), 2)


# ---------------------------------------------------------------- conv and pooling
def _conv_loops(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    o, _, kh, kw = w.shape
    oh = (xp.shape[2] - kh) // stride[0] + 1
    ow = (xp.shape[3] - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], o, oh, ow))
    for n in range(x.shape[0]):
        for k in range(o):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, :, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw]
                    out[n, k, i, j] = np.sum(patch * w[k])
    return out


def test_conv2d_matches_loops_on_a_larger_case() -> None:
    x, w, b = RNG.standard_normal((2, 3, 7, 6)), RNG.standard_normal((4, 3, 3, 2)), RNG.standard_normal(4)
    out = cr.conv2d(x, w, b, stride=(2, 1), padding=(1, 2))
    np.testing.assert_allclose(out.numpy(), _conv_loops(x, w, (2, 1), (1, 2)) + b[None, :, None, None], rtol=1e-12)


def test_conv2d_float32_and_gradient_shapes() -> None:
    x = cr.tensor(RNG.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    w = cr.tensor(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = cr.tensor(np.zeros(4, np.float32), requires_grad=True)
    out = cr.conv2d(x, w, b, padding=1)
    assert out.shape == (2, 4, 5, 5) and out.dtype == np.float32
    cr.sum(out).backward()
    for t in (x, w, b):
        assert t.grad.shape == t.shape and t.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 50.0))


def test_conv2d_errors() -> None:
    with pytest.raises(ValueError, match=r"^conv2d: input has 3 channels but weight expects 4"):
        cr.conv2d(cr.ones((1, 3, 4, 4)), cr.ones((2, 4, 2, 2)))
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D \(N, C, H, W\), got shape \(3, 4, 4\)"):
        cr.conv2d(cr.ones((3, 4, 4)), cr.ones((2, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"weight must be 4-D"):
        cr.conv2d(cr.ones((1, 3, 4, 4)), cr.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        cr.conv2d(cr.ones((1, 3, 4, 4)), cr.ones((2, 3, 2, 2)), cr.ones(3))
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) is larger than the padded input \(4, 4\)"):
        cr.conv2d(cr.ones((1, 3, 4, 4)), cr.ones((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        cr.conv2d(cr.ones((1, 3, 4, 4)), cr.ones((2, 3, 2, 2)), stride=0)
    with pytest.raises(ValueError, match="padding .* at most half"):
        cr.max_pool2d(cr.ones((1, 1, 4, 4)), 2, padding=2)


def test_max_pool_gradient_goes_to_the_argmax() -> None:
    x_data = np.array([[1.0, 3.0, 0.0, -1.0],
                       [3.0, 2.0, 5.0, 4.0],
                       [0.0, 0.0, 1.0, 2.0],
                       [7.0, 0.0, 2.0, 1.0]])[None, None]  # fmt: skip
    x = cr.tensor(x_data, requires_grad=True)
    out = cr.max_pool2d(x, 2)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[3.0, 5.0], [7.0, 2.0]])
    cr.sum(out * cr.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))).backward()
    expected = np.zeros((4, 4))
    expected[0, 1] = 1.0  # a tie between (0, 1) and (1, 0): the first one wins
    expected[1, 2] = 2.0
    expected[3, 0] = 3.0
    expected[2, 3] = 4.0  # another tie, (2, 3) comes before (3, 2)
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


def test_overlapping_max_pool_accumulates_and_avg_pool_spreads() -> None:
    x = cr.tensor(np.array([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True)
    cr.sum(cr.max_pool2d(x, 2, stride=1)).backward()
    assert x.grad.numpy()[0, 0, 1, 1] == 4.0 and x.grad.numpy().sum() == 4.0
    y = cr.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    cr.sum(cr.avg_pool2d(y, 2)).backward()
    np.testing.assert_allclose(y.grad.numpy(), np.full((1, 1, 4, 4), 0.25))


def test_max_pool_propagates_nan_and_infinities() -> None:
    x = np.array([[1.0, np.nan, 0.0, -np.inf], [2.0, 3.0, -np.inf, -np.inf]])[None, None]
    out = cr.max_pool2d(cr.tensor(x), 2).numpy()[0, 0, 0]
    assert np.isnan(out[0]) and out[1] == 0.0
    out = cr.max_pool2d(cr.tensor(np.full((1, 1, 2, 2), -np.inf)), 2).numpy()
    assert out.item() == -np.inf


def test_pooling_on_a_larger_case_matches_a_loop_reference() -> None:
    x = RNG.standard_normal((2, 3, 7, 6))
    got_max = cr.max_pool2d(x, 3, stride=2, padding=1).numpy()
    got_avg = cr.avg_pool2d(x, (2, 3), stride=(1, 2)).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    for i in range(got_max.shape[2]):
        for j in range(got_max.shape[3]):
            np.testing.assert_array_equal(got_max[:, :, i, j], xp[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(2, 3)))
    for i in range(got_avg.shape[2]):
        for j in range(got_avg.shape[3]):
            np.testing.assert_allclose(got_avg[:, :, i, j], x[:, :, i : i + 2, 2 * j : 2 * j + 3].mean(axis=(2, 3)), rtol=1e-12)


# ---------------------------------------------------------------- dropout
def test_dropout_seeded_scaled_and_reproducible() -> None:
    x = cr.tensor(RNG.uniform(1.0, 2.0, size=(200, 50)), requires_grad=True)
    y = cr.dropout(x, p=0.3, generator=np.random.default_rng(5))
    again = cr.dropout(x, p=0.3, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(y.numpy(), again.numpy())
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.7)
    cr.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7)
    cr.random.seed(11)
    a = cr.dropout(x, 0.5).numpy()
    cr.random.seed(11)
    np.testing.assert_array_equal(cr.dropout(x, 0.5).numpy(), a)


def test_dropout_edge_cases() -> None:
    x = cr.tensor(np.ones(5), requires_grad=True)
    assert cr.dropout(x, 0.5, training=False) is x
    assert cr.dropout(x, 0.0) is x
    zero = cr.dropout(x, 1.0)
    np.testing.assert_array_equal(zero.numpy(), np.zeros(5))
    cr.sum(zero).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        cr.dropout(x, 1.5)
    x32 = cr.tensor(np.ones(4, np.float32))
    assert cr.dropout(x32, 0.5).dtype == np.float32


# ---------------------------------------------------------------- JVP rules
def test_log_softmax_jvp() -> None:
    check_jvp_rules(log_softmax_p, [RNG.standard_normal((3, 4))], [RNG.standard_normal((3, 4))], {"axis": (1,)})
    check_jvp_rules(log_softmax_p, [RNG.standard_normal((3, 4))], [RNG.standard_normal((3, 4))], {"axis": (0,)})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_jvps(reduction: str) -> None:
    logits = RNG.standard_normal((3, 4))
    params = {"axis": 1, "reduction": reduction}
    check_jvp_rules(cross_entropy_p, [logits, np.array([0, 3, 1])], [RNG.standard_normal((3, 4)), None],
                    {**params, "soft": False})  # fmt: skip
    q = RNG.uniform(0.1, 1, size=(3, 4))
    check_jvp_rules(cross_entropy_p, [logits, q], [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))],
                    {**params, "soft": True})  # fmt: skip


def test_im2col_col2im_jvps_and_adjointness() -> None:
    params = {"kernel": (2, 3), "stride": (2, 1), "padding": (1, 1)}
    x = RNG.standard_normal((2, 2, 4, 5))
    check_jvp_rules(im2col_p, [x], [RNG.standard_normal(x.shape)], {**params, "pad_value": 0.0})
    windows = im2col_p.impl(x, **params)
    g = RNG.standard_normal(windows.shape)
    check_jvp_rules(col2im_p, [g], [RNG.standard_normal(g.shape)], {**params, "shape": x.shape})
    # <im2col(x), g> == <x, col2im(g)>
    np.testing.assert_allclose(np.sum(windows * g), np.sum(x * col2im_p.impl(g, shape=x.shape, **params)), rtol=1e-12)
    # A -inf padding (max pooling) is a constant: tangents still pad with 0.
    t = RNG.standard_normal(x.shape)
    tangent = im2col_p.jvp_rules[0](t, None, x, **params, pad_value=-np.inf)
    np.testing.assert_array_equal(tangent, im2col_p.impl(t, **params))


def test_module_exports() -> None:
    for name in nn.__all__:
        assert getattr(cr, name) is getattr(nn, name)


def test_max_pool_under_vmap_with_a_trailing_batch_axis() -> None:
    from chainrule.transforms import vmap

    x = RNG.standard_normal((1, 2, 4, 4, 3))
    out = vmap(lambda t: cr.max_pool2d(t, 2), in_axes=-1, out_axes=-1)(cr.tensor(x))
    for k in range(3):
        np.testing.assert_array_equal(out.numpy()[..., k], cr.max_pool2d(cr.tensor(x[..., k]), 2).numpy())
