"""Indexing semantics the op table cannot express (in-place writes, graph safety, messages), and
the JVP rules of the primitives written with it (reduce, shape, indexing), checked directly
against central differences until the table's generated forward-mode tests cover them."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import registry
from chainrule.ops.indexing import normalize_index


# ---------------------------------------------------------------- reading
def test_repeated_integer_indices_accumulate_their_gradients() -> None:
    x = cr.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x[np.array([0, 0, 3, 0])] * cr.tensor([1.0, 10.0, 100.0, 1000.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1011.0, 0.0, 0.0, 100.0])


def test_second_order_through_getitem_and_its_adjoint() -> None:
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x[[2, 2, 0]] ** 3).sum()
    (g,) = cr.autograd.grad(y, [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3 * 0.25, 0.0, 2 * 3 * 4.0])
    (h,) = cr.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), [6 * 0.5, 0.0, 2 * 6 * 2.0])


def test_boolean_mask_selects_and_scatters_back() -> None:
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    mask = x > 0
    picked = x[mask]
    np.testing.assert_array_equal(picked.numpy(), [1.0, 4.0])
    (picked * picked).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [0.0, 8.0]])


def test_tensor_indices_and_slices_with_tensor_bounds() -> None:
    x = cr.arange(6.0)
    np.testing.assert_array_equal(x[cr.tensor([4, 1])].numpy(), [4.0, 1.0])
    np.testing.assert_array_equal(x[cr.tensor(1) : cr.tensor(3)].numpy(), [1.0, 2.0])
    assert x[cr.tensor(5)].item() == 5.0


def test_index_arrays_are_copied_so_later_changes_do_not_reach_the_graph() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = np.array([0, 1])
    y = x[idx]
    idx[0] = 2
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.0])
    frozen = normalize_index(np.array([1, 2]))[0]
    assert not frozen.flags.writeable


@pytest.mark.parametrize(
    "shape,index,fragment",
    [
        ((2, 3), 5, "index 5 is out of bounds"),
        ((2, 3), (0, 0, 0), "too many indices"),
        ((3,), [0, 4], "index 4 is out of bounds"),
        ((3,), np.array([True, False]), "boolean index did not match"),
    ],
)
def test_out_of_range_indices_name_the_shape_and_the_index(shape, index, fragment) -> None:
    with pytest.raises(IndexError) as info:
        cr.zeros(shape)[index]
    message = str(info.value)
    assert fragment in message
    assert str(shape) in message
    assert "getitem: index [" in message


def test_non_integer_indices_are_rejected() -> None:
    with pytest.raises(IndexError, match="valid indices"):
        cr.zeros(3)[1.5]
    with pytest.raises(IndexError, match="float64"):
        cr.zeros(3)[np.array([0.0, 1.0])]


# ---------------------------------------------------------------- writing
def test_setitem_under_no_grad_writes_in_place_and_bumps_the_version() -> None:
    w = cr.tensor(np.ones((2, 2)), requires_grad=True)
    data, version = w.numpy(), w._version
    with cr.no_grad():
        w[0, 0] = 5.0
    assert w.numpy() is data
    assert w._version == version + 1
    assert w.numpy()[0, 0] == 5.0
    assert w.requires_grad and w.grad_fn is None


def test_setitem_on_a_leaf_requiring_grad_raises_with_advice() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 3.0
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])


def test_setitem_on_a_plain_tensor_writes_in_place() -> None:
    z = cr.zeros((2, 3))
    data = z.numpy()
    z[:, 1] = cr.tensor([7.0, 8.0])
    z[1, [0, 2]] = 1.0
    assert z.numpy() is data
    np.testing.assert_array_equal(z.numpy(), [[0, 7, 0], [1, 8, 1]])
    assert z.grad_fn is None and not z.requires_grad


def test_setitem_on_a_non_leaf_records_index_put() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor(4.0, requires_grad=True)
    y = x * 2.0
    old = y.numpy()
    y[1] = v * 10.0
    assert y.grad_fn.name == "IndexPutBackward0"
    np.testing.assert_array_equal(y.numpy(), [2.0, 40.0, 6.0])
    # PyTorch's semantics: the write goes into y's storage, which .numpy() shares.
    assert np.shares_memory(old, y.numpy())
    np.testing.assert_array_equal(old, [2.0, 40.0, 6.0])
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 6.0])
    assert v.grad.item() == 20.0


def test_setitem_with_a_tracked_value_gives_a_plain_tensor_a_history() -> None:
    buf = cr.zeros(3)
    a = cr.tensor(4.0, requires_grad=True)
    buf[np.array([True, False, True])] = a
    assert buf.requires_grad and buf.grad_fn is not None
    (buf * buf).sum().backward()
    assert a.grad.item() == 2 * (2 * 4.0)


def test_setitem_after_a_saving_op_is_detected_at_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()  # mul saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_setitem_errors_name_the_shape() -> None:
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        cr.zeros((2, 3))[5] = 1.0
    with pytest.raises(ValueError, match="cannot write a value of shape"):
        cr.zeros((2, 3))[0] = cr.ones(4)


def test_index_put_is_out_of_place() -> None:
    x = cr.zeros(3)
    y = cr.index_put(x, [0, 2], cr.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(y.numpy(), [1.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- take_along_axis for losses
def test_take_along_axis_picks_class_scores_like_cross_entropy() -> None:
    logits = cr.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
    labels = cr.tensor([[1], [2]])
    logp = logits - cr.logsumexp(logits, axis=1, keepdims=True)
    loss = -cr.take_along_axis(logp, labels, axis=1).mean()
    loss.backward()
    z = logits.numpy()
    softmax = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    onehot = np.eye(3)[[1, 2]]
    np.testing.assert_allclose(logits.grad.numpy(), (softmax - onehot) / 2, rtol=1e-12)


def test_take_along_axis_rejects_mismatched_indices() -> None:
    with pytest.raises(ValueError, match="as many dimensions"):
        cr.take_along_axis(cr.zeros((2, 3)), np.array([0, 1]), axis=1)
    with pytest.raises(TypeError, match="integers"):
        cr.take_along_axis(cr.zeros((2, 3)), np.zeros((2, 1)), axis=1)


# ---------------------------------------------------------------- JVP rules of the new primitives
def _ix(index):
    return normalize_index(index)


_X = np.random.default_rng(3).standard_normal((3, 4))
_XZ = _X.copy()
_XZ[0, 1] = 0.0
_XZ[2, 0] = _XZ[2, 3] = 0.0

JVP_CASES = [
    ("mean", [_X], {"axis": (1,), "keepdims": False}),
    ("prod", [_X], {"axis": (1,), "keepdims": True}),
    ("prod", [_XZ], {"axis": None, "keepdims": False}),
    ("prod", [_XZ], {"axis": (1,), "keepdims": False}),
    ("prod_others", [_X], {}),
    ("prod_others", [_XZ], {}),
    ("max", [_X], {"axis": (0,), "keepdims": False}),
    ("min", [_X], {"axis": None, "keepdims": True}),
    ("var", [_X], {"axis": (1,), "keepdims": False, "ddof": 1}),
    ("logsumexp", [_X], {"axis": (0,), "keepdims": True}),
    ("norm", [_X], {"axis": (1,), "keepdims": False}),
    ("cumsum", [_X], {"axis": 1}),
    ("cumprod", [_X], {"axis": 0}),
    ("cumprod", [_XZ], {"axis": 1}),
    ("pad", [_X], {"widths": ((1, 0), (-1, 2)), "value": 3.0}),
    ("concat2", [_X, _X[:2]], {"axis": 0}),
    ("flip", [_X], {"axis": (1,)}),
    ("roll", [_X], {"shift": (1, 2), "axis": (0, 1)}),
    ("getitem", [_X], {"index": _ix((np.array([0, 0, 2]), slice(None, None, -1)))}),
    ("index_add", [_X[:2]], {"index": _ix(np.array([1, 1])), "shape": (3, 4)}),
    ("index_put", [_X, _X[0]], {"index": _ix(np.array([1, 1]))}),
    ("index_put", [_X, np.array(2.0)], {"index": _ix(_X > 0)}),
]


@pytest.mark.parametrize("as_tensors", [False, True], ids=["raw", "tensors"])
@pytest.mark.parametrize("name,xs,params", JVP_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(JVP_CASES)])
def test_jvp_rules_match_central_differences(name, xs, params, as_tensors) -> None:
    prim = registry[name]
    rng = np.random.default_rng(0)
    ts = [rng.standard_normal(np.shape(x)) for x in xs]
    ans = np.asarray(prim.impl(*xs, **params))
    wrap = cr.tensor if as_tensors else (lambda a: a)
    total = np.zeros(ans.shape)
    for rule, t in zip(prim.jvp_rules, ts):
        out = rule(wrap(t), wrap(ans), *[wrap(x) for x in xs], **params)
        assert isinstance(out, cr.Tensor) == as_tensors
        total = total + np.asarray(out.numpy() if as_tensors else out)
    eps = 1e-6
    plus = prim.impl(*[x + eps * t for x, t in zip(xs, ts)], **params)
    minus = prim.impl(*[x - eps * t for x, t in zip(xs, ts)], **params)
    np.testing.assert_allclose(total, (np.asarray(plus) - np.asarray(minus)) / (2 * eps), rtol=1e-5, atol=1e-7)
