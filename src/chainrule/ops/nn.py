"""Functional neural-network ops: the softmax family, losses, convolution, pooling and dropout.

Primitives here exist for numerical stability or speed: ``log_softmax`` (shifted by the row
maximum), ``cross_entropy`` (its VJP is the fused ``(softmax - onehot) / N``), the window
extraction ``im2col`` with its adjoint ``col2im`` that convolution and pooling are built on, and
two without derivatives: ``one_hot`` and ``first_max_mask`` (which entry of a pooling window wins).
Everything else (softmax, mse, binary cross-entropy, conv2d, the pools, dropout) is composed
of primitives, so every derivative of every order comes from the same rules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, is_foreign, namespace_of
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_operand, ensure_tensor
from chainrule.ops._like import const_like, np_dtype, xp_dtype
from chainrule.ops.binary import add_p, minimum_p, mul_p, sub_p, where_p
from chainrule.ops.linalg import matmul_p
from chainrule.ops.nondiff import equal_p, greater_p
from chainrule.ops.reduce import mean_p, normalize_axis, sum_p
from chainrule.ops.shape import astype_p, reshape_p, transpose_p
from chainrule.ops.unary import exp_p, softplus_p, square_p
from chainrule.transforms.batching_rules import batch_sizes, full_batch, shift_axis

__all__ = [
    "softmax", "log_softmax", "one_hot", "cross_entropy", "mse", "binary_cross_entropy_with_logits",
    "conv2d", "max_pool2d", "avg_pool2d", "dropout", "elu",
]  # fmt: skip


# ---------------------------------------------------------------- elu
def _elu_impl(x: np.ndarray, *, alpha: float = 1.0, xp: Any = np) -> np.ndarray:
    # expm1 only sees non-positive numbers, so the unused branch never overflows.
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


def _elu_slope(x: Any, alpha: float) -> Any:
    # 1 where x > 0, alpha·eˣ elsewhere; exp sees min(x, 0), so it never overflows. Written with
    # same-dtype operands only: a rule also runs on the dialects' tensors, which refuse to mix
    # dtypes.
    return where_p(greater_p(x, 0), 1.0, alpha * exp_p(minimum_p(x, 0)))


elu_p = Primitive("elu", _elu_impl, nin=1, batching="elementwise")
elu_p.def_partials(lambda ans, x, alpha=1.0: _elu_slope(x, alpha))
elu_p.def_jet(T.elu)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Elementwise x for x > 0, ``alpha * (eˣ - 1)`` otherwise (the exponential linear unit).

    Its derivative is 1 for x > 0 and ``alpha * eˣ`` otherwise (so ``alpha`` at 0, as in
    PyTorch and TensorFlow).

    >>> import chainrule as cr
    >>> cr.elu(cr.tensor([-1., 0., 2.]))
    tensor([-0.63212056,  0.        ,  2.        ], dtype=float64)
    """
    return ensure_tensor(elu_p(x, alpha=float(alpha)))

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- helpers
_arr = as_operand


def _data(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    return x if type(x) is np.ndarray or is_foreign(x) else np.asarray(x)


def _require_float(x: Any, op: str, what: str = "input") -> None:
    dtype = _data(x).dtype
    if dtype_kind(dtype) != "f":
        raise TypeError(f"{op}: {what} must be float32 or float64, got {dtype}; convert with .astype('float32')")


def _one_axis(x: Any, axis: int, op: str) -> int:
    nd = _data(x).ndim
    if nd == 0:
        raise ValueError(f"{op}: needs at least one dimension, got a 0-d tensor")
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    (a,) = normalize_axis(int(axis), nd, op)  # type: ignore[misc]
    return a


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce_loss(losses: Any, reduction: str) -> Any:
    """Apply a loss reduction with primitives ('mean' divides by the number of losses)."""
    if reduction == "none":
        return losses
    total = sum_p(losses, axis=None, keepdims=False)
    if reduction == "sum":
        return total
    n = int(np.prod(losses.shape))
    return total * (1.0 / n) if n else total * math.nan


def _stable_shift(x: np.ndarray, axis: tuple[int, ...], xp: Any = np) -> np.ndarray:
    """The maximum over ``axis`` (kept), 0 where it is not finite: subtracting it keeps exp in range.

    A raw-data constant: softmax is shift-invariant, so it needs no derivative.
    """
    if xp is not np:
        # No data-dependent branch: a lazy (Dask) array stays lazy.
        shift = xp.max(x, axis=axis, keepdims=True)
        return xp.where(xp.isfinite(shift), shift, xp.zeros((), dtype=shift.dtype))
    if x.ndim == 2 and axis == (1,) and x.shape[1] <= 64:
        # NumPy reduces short rows slowly; a max over the rows of the transposed copy is one
        # vectorised pass per class (a 2x saving on the (batch, classes) logits of a classifier).
        shift = np.ascontiguousarray(x.T).max(axis=0)[:, None]
    else:
        shift = np.asarray(x).max(axis=axis, keepdims=True)
    if not np.isfinite(shift.sum()):
        shift = np.where(np.isfinite(shift), shift, 0)
    return shift


def _pair(value: Any, name: str, op: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


# ---------------------------------------------------------------- softmax family
def _log_softmax_impl(x: Any, *, axis: tuple[int, ...], xp: Any = np) -> Any:
    if xp is not np:
        if math.prod(x.shape) == 0:
            return xp.zeros(x.shape, dtype=x.dtype if dtype_kind(x.dtype) == "f" else xp.float64)
        z = x - _stable_shift(x, axis, xp)
        return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))
    x = np.asarray(x)
    if x.size == 0:
        # Over an empty axis there is nothing to normalise (PyTorch returns an empty tensor);
        # the shift below, a max over that axis, has no identity.
        return np.zeros(x.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    z = x - _stable_shift(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


log_softmax_p = Primitive("log_softmax", _log_softmax_impl, nin=1, saves=(), saves_ans=True,
                          grad_fn_name="LogSoftmaxBackward0", batching="axis")  # fmt: skip
log_softmax_p.def_vjp(lambda g, ans, x, *, axis: g - exp_p(ans) * sum_p(g, axis=axis, keepdims=True))
log_softmax_p.def_jvp(lambda t, ans, x, *, axis: t - sum_p(exp_p(ans) * t, axis=axis, keepdims=True))
log_softmax_p.def_jet(T.log_softmax)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """``x - logsumexp(x, axis)``, computed stably (finite for any finite input).

    >>> import chainrule as cr
    >>> cr.log_softmax(cr.tensor([0., 0.]))
    tensor([-0.69314718, -0.69314718], dtype=float64)
    """
    x = _arr(x)
    _require_float(x, "log_softmax")
    a = _one_axis(x, axis, "log_softmax")
    return ensure_tensor(log_softmax_p(x, axis=(a,)))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x), axis)``, computed as ``exp(log_softmax(x))`` so it never overflows.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([1000., 1000.]))
    tensor([0.5, 0.5], dtype=float64)
    """
    x = _arr(x)
    _require_float(x, "softmax")
    a = _one_axis(x, axis, "softmax")
    return ensure_tensor(exp_p(log_softmax_p(x, axis=(a,))))


# ---------------------------------------------------------------- one_hot
def _one_hot_impl(indices: Any, *, num_classes: int, dtype: np.dtype, xp: Any = np) -> Any:
    if xp is not np:
        hot = xp.expand_dims(indices, axis=-1) == xp.arange(num_classes, dtype=indices.dtype)
        return xp.astype(hot, xp_dtype(xp, dtype))
    idx = np.asarray(indices)
    return (idx[..., None] == np.arange(num_classes)).astype(dtype)


# (The classes make a new last axis: vmap's batch axes are just more leading ones.)
one_hot_p = Primitive("one_hot", _one_hot_impl, nin=1, saves=(), differentiable=False, batching="trailing")


def _min_max(idx: Any) -> tuple[int, int]:
    if is_foreign(idx):  # (computes a lazy array's labels: the check needs their values)
        xp = namespace_of(idx)
        return int(xp.min(idx)), int(xp.max(idx))
    return int(idx.min()), int(idx.max())


def check_class_labels(h: np.ndarray, logits_shape: tuple[int, ...], axis: int) -> None:
    """Refuse class indices outside ``[0, classes)`` for logits of ``logits_shape``: fancy indexing
    would wrap -1 round and read the next row for ``classes``. Every forward and fused gradient step
    calls it on the labels it is given, so a jitted step checks each call's labels, not the trace's."""
    n = logits_shape[axis]
    if _indices_fit(h, n):
        return
    _check_indices(h, n, "cross_entropy", f"logits of shape {tuple(logits_shape)}, classes on axis {axis}")


_UNSIGNED = {np.dtype(f"i{k}"): np.dtype(f"u{k}") for k in (1, 2, 4, 8)}


def _indices_fit(idx: Any, n: int) -> bool:
    """Whether a NumPy integer array's entries all lie in ``[0, n)``, in one pass: read as
    unsigned, a negative index is huge, so the largest is below ``n`` only when all are in range.
    False for anything it cannot read this way (the caller then checks in full)."""
    if type(idx) is not np.ndarray or idx.size == 0:
        return False
    as_unsigned = _UNSIGNED.get(idx.dtype)
    if as_unsigned is not None:
        return bool(np.maximum.reduce(idx.view(as_unsigned), None) < n)
    return idx.dtype.kind == "u" and bool(np.maximum.reduce(idx, None) < n)


def _check_indices(idx: np.ndarray, n: int, op: str, what: str) -> None:
    if math.prod(idx.shape) == 0 or _indices_fit(idx, n):
        return
    lo, hi = _min_max(idx)
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise IndexError(f"{op}: class index {bad} is out of range for {n} classes ({what}); indices must be in [0, {n - 1}]")


def one_hot(indices: Any, num_classes: int | None = None, dtype: Any = np.float64) -> Tensor:
    """Float one-hot vectors along a new last axis (no gradient). ``num_classes`` defaults to
    ``max(indices) + 1``.

    >>> import chainrule as cr
    >>> cr.one_hot(cr.tensor([0, 2]), 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.]], dtype=float64)
    """
    indices = _arr(indices)
    idx = _data(indices)
    if dtype_kind(idx.dtype) not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got {idx.dtype}")
    if num_classes is None:
        num_classes = _min_max(idx)[1] + 1 if math.prod(idx.shape) else 0
    if int(num_classes) < 0:
        raise ValueError(f"one_hot: num_classes must be >= 0, got {num_classes}")
    _check_indices(idx, int(num_classes), "one_hot", f"num_classes={num_classes}")
    return ensure_tensor(one_hot_p(indices, num_classes=int(num_classes), dtype=np.dtype(dtype)))


# ---------------------------------------------------------------- cross-entropy
def _index_one_hot(target: Any, num_classes: int, axis: int, dtype: np.dtype) -> Any:
    """One-hot of class indices along ``axis`` of the logits (no gradient flows to the indices).

    Built with primitives, not with NumPy on the indices' data, so that a trace (``cr.jit``)
    follows the indices instead of baking this call's labels into the program.
    """
    shape = tuple(np.shape(_data(target)))
    expanded = shape[:axis] + (1,) + shape[axis:]
    classes = [1] * len(expanded)
    classes[axis] = num_classes
    classes_np = np.arange(num_classes).reshape(classes)
    hot = equal_p(reshape_p(target, shape=expanded), const_like(classes_np, target))
    return astype_p(hot, dtype=dtype)


def _pick(values: np.ndarray, target: np.ndarray, axis: int) -> np.ndarray:
    """``values`` at the target class along ``axis`` (the class axis removed)."""
    if values.ndim == 2 and axis == 1:
        return values[np.arange(values.shape[0]), target]
    return np.squeeze(np.take_along_axis(values, np.expand_dims(target, axis), axis=axis), axis)


def _cross_entropy_impl(logits: Any, target: Any, *, axis: int, reduction: str, soft: bool, xp: Any = np) -> Any:
    if xp is not np:
        return _cross_entropy_standard(xp, logits, target, axis, reduction, soft)
    x = np.asarray(logits)
    if not soft:
        check_class_labels(np.asarray(target), x.shape, axis)
    z = x - _stable_shift(x, (axis,))
    lse = np.log(np.exp(z).sum(axis=axis, keepdims=True))
    if soft:
        losses = -np.sum(target * (z - lse), axis=axis)
    else:
        # log-sum-exp (>= 0) minus the shifted target logit (<= 0): a sum of non-negative terms.
        losses = np.squeeze(lse, axis) - _pick(z, np.asarray(target), axis)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(total / losses.size if losses.size else total * np.nan)


def _cross_entropy_standard(xp: Any, x: Any, target: Any, axis: int, reduction: str, soft: bool) -> Any:
    """The forward in the array API's functions (any library; lazy on Dask)."""
    z = x - _stable_shift(x, (axis,), xp)
    lse = xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))
    if soft:
        losses = -xp.sum(target * (z - lse), axis=axis)
    else:
        # The target logit picked by a one-hot select (no take_along_axis in every library).
        classes = [1] * x.ndim
        classes[axis] = x.shape[axis]
        hot = xp.expand_dims(target, axis=axis) == xp.reshape(xp.arange(x.shape[axis], dtype=target.dtype), tuple(classes))
        picked = xp.sum(xp.where(hot, z, xp.zeros((), dtype=z.dtype)), axis=axis)
        losses = xp.squeeze(lse, axis=axis) - picked
    if reduction == "none":
        return losses
    total = xp.sum(losses)
    if reduction == "sum":
        return total
    n = math.prod(losses.shape)
    return total / n if n else total * math.nan


def _fused_index_grad(g: np.ndarray, logits: np.ndarray, target: np.ndarray, axis: int, reduction: str) -> np.ndarray:
    """``(softmax(logits) - onehot(target)) * g / N`` on raw arrays, in one buffer.

    The first-order fast path of cross_entropy's VJP (the MLP benchmark's hot spot); the rule
    below it computes the same thing with primitives, and test_nn_ops proves them equal.
    """
    check_class_labels(target, logits.shape, axis)
    d = logits - _stable_shift(logits, (axis,))
    np.exp(d, out=d)
    d /= d.sum(axis=axis, keepdims=True)
    if d.ndim == 2 and axis == 1:
        d[np.arange(d.shape[0]), target] -= 1
    else:
        idx = np.expand_dims(target, axis)
        np.put_along_axis(d, idx, np.take_along_axis(d, idx, axis=axis) - 1, axis=axis)
    if reduction == "none":
        d *= np.expand_dims(g, axis)
    elif reduction == "sum":
        d *= g
    else:
        n = d.size // d.shape[axis] if d.shape[axis] else 0
        d *= g / n if n else g * np.nan
    return d


def _loss_scale(g: Any, reduction: str, shape: tuple[int, ...], axis: int) -> Any:
    """The upstream cotangent spread over the class axis, divided by N for 'mean'."""
    if reduction == "none":
        return reshape_p(g, shape=shape[:axis] + (1,) + shape[axis + 1 :])
    if reduction == "sum":
        return g
    n = int(np.prod(shape)) // shape[axis] if shape[axis] else 0
    return g * (1.0 / n) if n else g * math.nan


def _cross_entropy_vjp_logits(g: Any, ans: Any, logits: Any, target: Any, *, axis: int, reduction: str, soft: bool) -> Any:
    if not soft and type(g) is np.ndarray and type(logits) is np.ndarray:
        return _fused_index_grad(g, logits, _data(target), axis, reduction)
    probs = exp_p(log_softmax_p(logits, axis=(axis,)))
    if soft:
        d = probs * sum_p(target, axis=(axis,), keepdims=True) - target
    else:
        d = probs - _index_one_hot(target, logits.shape[axis], axis, _dtype_param(probs))
    return d * _loss_scale(g, reduction, tuple(logits.shape), axis)


def _dtype_param(x: Any) -> Any:
    """``x``'s dtype as an astype parameter: NumPy's dtype for NumPy data, else the library's own."""
    dtype = x.dtype
    return dtype if is_foreign(_data(x)) else np.dtype(dtype)


def _cross_entropy_vjp_target(g: Any, ans: Any, logits: Any, target: Any, *, axis: int, reduction: str, soft: bool) -> Any:
    if not soft:
        return None
    return -log_softmax_p(logits, axis=(axis,)) * _loss_scale(g, reduction, tuple(logits.shape), axis)


def _cross_entropy_jvp_logits(t: Any, ans: Any, logits: Any, target: Any, *, axis: int, reduction: str, soft: bool) -> Any:
    probs = exp_p(log_softmax_p(logits, axis=(axis,)))
    if soft:
        d = probs * sum_p(target, axis=(axis,), keepdims=True) - target
    else:
        d = probs - _index_one_hot(target, logits.shape[axis], axis, _dtype_param(probs))
    return _reduce_loss(sum_p(d * t, axis=(axis,), keepdims=False), reduction)


def _cross_entropy_jvp_target(t: Any, ans: Any, logits: Any, target: Any, *, axis: int, reduction: str, soft: bool) -> Any:
    if not soft:
        return None
    logp = log_softmax_p(logits, axis=(axis,))
    return _reduce_loss(-sum_p(logp * t, axis=(axis,), keepdims=False), reduction)


def _cross_entropy_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                         params: dict[str, Any]) -> Any:  # fmt: skip
    """vmap: per-example losses on the whole batch, then each example's own reduction."""
    batch = batch_sizes(vals, flags, nb)
    logits = full_batch(vals[0], flags[0], nb, batch)
    target = full_batch(vals[1], flags[1], nb, batch)
    ex = logits._data.ndim - nb
    losses = prim(logits, target, axis=shift_axis(int(params["axis"]), ex, nb), reduction="none",
                  soft=params["soft"])  # fmt: skip
    reduction = params["reduction"]
    if reduction == "none":
        return losses
    axes = tuple(range(nb, losses._data.ndim))
    if reduction == "sum":
        return sum_p(losses, axis=axes, keepdims=False)
    return mean_p(losses, axis=axes, keepdims=False)


cross_entropy_p = Primitive("cross_entropy", _cross_entropy_impl, nin=2,
                            grad_fn_name="CrossEntropyLossBackward0", batching=_cross_entropy_batch)  # fmt: skip
cross_entropy_p.def_vjp(_cross_entropy_vjp_logits, _cross_entropy_vjp_target)
cross_entropy_p.def_jvp(_cross_entropy_jvp_logits, _cross_entropy_jvp_target)
cross_entropy_p.def_jet(T.cross_entropy)


def cross_entropy(logits: Any, target: Any, axis: int = -1, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy from unnormalised ``logits``, classes along ``axis``.

    ``target`` is either integer class indices (the logits' shape without the class axis) or
    float probabilities (the logits' shape). ``reduction``: ``'mean'`` over samples, ``'sum'``
    or ``'none'``. Stable for any finite logits.

    >>> import chainrule as cr
    >>> logits = cr.tensor([[2., 0., 0.], [0., 0., 0.]])
    >>> round(float(cr.cross_entropy(logits, cr.tensor([0, 1]))), 4)
    0.6691
    """
    _check_reduction(reduction, "cross_entropy")
    logits, target = _arr(logits), _arr(target)
    _require_float(logits, "cross_entropy", "logits")
    a = _one_axis(logits, axis, "cross_entropy")
    shape = tuple(logits.shape)
    tdata = _data(target)
    tkind = dtype_kind(tdata.dtype)
    if tkind in "iu":
        expected = shape[:a] + shape[a + 1 :]
        if tdata.shape != expected:
            raise ValueError(
                f"cross_entropy: class-index target has shape {tdata.shape} but logits of shape "
                f"{shape} (classes on axis {a}) need a target of shape {expected}"
            )
        # (Here for the message before anything runs; the forward checks again at every call, so
        # a jitted step checks each call's labels, not only the trace's.)
        if not _indices_fit(tdata, shape[a]):
            _check_indices(tdata, shape[a], "cross_entropy", f"logits of shape {shape}, classes on axis {a}")
        soft = False
    elif tkind == "f":
        if tdata.shape != shape:
            raise ValueError(
                f"cross_entropy: probability target has shape {tdata.shape} but logits have shape "
                f"{shape}; they must match (or pass integer class indices of shape "
                f"{shape[:a] + shape[a + 1:]})"
            )
        soft = True
    else:
        raise TypeError(
            f"cross_entropy: target must hold integer class indices or float probabilities, got {tdata.dtype}"
        )
    return ensure_tensor(cross_entropy_p(logits, target, axis=a, reduction=reduction, soft=soft))


# ---------------------------------------------------------------- other losses
def _same_shape(a: Any, b: Any, op: str, names: tuple[str, str]) -> None:
    sa, sb = _data(a).shape, _data(b).shape
    if sa != sb:
        raise ValueError(f"{op}: {names[0]} has shape {sa} but {names[1]} has shape {sb}; they must match")


def mse(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``mean((pred - target) ** 2)`` (or its sum, or the elementwise values).

    >>> import chainrule as cr
    >>> cr.mse(cr.tensor([1., 2.]), cr.tensor([1., 4.]))
    tensor(2., dtype=float64)
    """
    _check_reduction(reduction, "mse")
    pred, target = _arr(pred), _arr(target)
    _same_shape(pred, target, "mse", ("pred", "target"))
    return ensure_tensor(_reduce_loss(square_p(sub_p(pred, target)), reduction))


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against ``target`` in [0, 1], computed as
    ``softplus(logits) - logits * target`` (finite and accurate for any finite logits).

    >>> import chainrule as cr
    >>> round(float(cr.binary_cross_entropy_with_logits(cr.tensor([0.]), cr.tensor([1.]))), 4)
    0.6931
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    logits, target = _arr(logits), _arr(target)
    _require_float(logits, "binary_cross_entropy_with_logits", "logits")
    _same_shape(logits, target, "binary_cross_entropy_with_logits", ("logits", "target"))
    losses = sub_p(softplus_p(logits), mul_p(logits, target))
    return ensure_tensor(_reduce_loss(losses, reduction))


# ---------------------------------------------------------------- windows: im2col and col2im
def _im2col_impl(x: Any, *, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                 pad_value: float = 0.0, xp: Any = np) -> Any:  # fmt: skip
    """Sliding windows of an NCHW array as a view of shape ``(N, C, OH, OW, kh, kw)``."""
    if xp is not np:
        return _im2col_standard(xp, x, kernel, stride, padding, pad_value)
    x = np.asarray(x)
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return windows[:, :, :: stride[0], :: stride[1]]


def _pad_hw(xp: Any, x: Any, before: tuple[int, int], after: tuple[int, int], value: float) -> Any:
    """``x`` (N, C, H, W) with ``value`` rows/columns added around H and W (no pad in the standard)."""
    n, c, h, w = x.shape
    (top, left), (bottom, right) = before, after
    if left or right:
        parts = [xp.full((n, c, h, left), value, dtype=x.dtype)] if left else []
        parts.append(x)
        if right:
            parts.append(xp.full((n, c, h, right), value, dtype=x.dtype))
        x = xp.concat(parts, axis=3)
        w += left + right
    if top or bottom:
        parts = [xp.full((n, c, top, w), value, dtype=x.dtype)] if top else []
        parts.append(x)
        if bottom:
            parts.append(xp.full((n, c, bottom, w), value, dtype=x.dtype))
        x = xp.concat(parts, axis=2)
    return x


def _im2col_standard(xp: Any, x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int], pad_value: float) -> Any:  # fmt: skip
    # No strided views in the standard: one strided slice per kernel offset, stacked last.
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        x = _pad_hw(xp, x, (ph, pw), (ph, pw), pad_value)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    parts = [x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
             for i in range(kh) for j in range(kw)]  # fmt: skip
    return xp.reshape(xp.stack(parts, axis=-1), (n, c, oh, ow, kh, kw))


def _dilate(xp: Any, x: Any, axis: int, step: int) -> Any:
    """``x`` with ``step - 1`` zeros between its entries along ``axis`` (an adjoint of a strided slice)."""
    if step == 1 or x.shape[axis] <= 1:
        return x
    zeros = xp.zeros(x.shape, dtype=x.dtype)
    spread = xp.stack([x] + [zeros] * (step - 1), axis=axis + 1)
    shape = list(x.shape)
    length = shape[axis]
    shape[axis] = length * step
    spread = xp.reshape(spread, tuple(shape))
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, step * (length - 1) + 1)
    return spread[tuple(index)]


def _col2im_standard(xp: Any, g: Any, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int]) -> Any:  # fmt: skip
    # Without writes into an array (Dask, JAX): each kernel offset's windows spread back to their
    # strided positions (zeros between), padded to the full image, and summed.
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    hp, wp = h + 2 * ph, w + 2 * pw
    out = None
    for i in range(kh):
        for j in range(kw):
            part = _dilate(xp, _dilate(xp, g[:, :, :, :, i, j], 2, sh), 3, sw)
            part = _pad_hw(xp, part, (i, j), (hp - i - part.shape[2], wp - j - part.shape[3]), 0.0)
            out = part if out is None else out + part
    if ph or pw:
        out = out[:, :, ph : ph + h, pw : pw + w]
    return out


def _col2im_impl(g: Any, *, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], xp: Any = np) -> Any:  # fmt: skip
    """The adjoint of im2col: add every window back onto the NCHW positions it was read from.

    One vectorised strided add per kernel offset (kh * kw of them), never a loop over pixels.
    """
    if xp is not np:
        return _col2im_standard(xp, g, shape, kernel, stride, padding)
    g = np.asarray(g)
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = g.shape[2], g.shape[3]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for i in range(kh):
        rows = slice(i, i + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[:, :, rows, j : j + sw * (ow - 1) + 1 : sw] += g[:, :, :, :, i, j]
    if ph or pw:
        out = out[:, :, ph : ph + h, pw : pw + w]
    return out


def _merge_first(x: Tensor, nb: int) -> tuple[Tensor, tuple[int, ...]]:
    shp = x._data.shape
    return reshape_p(x, shape=(-1,) + shp[nb + 1 :]), shp[: nb + 1]


def _im2col_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """vmap: the batch joins the images' own N axis."""
    merged, lead = _merge_first(vals[0], nb)
    out = prim(merged, **params)
    return reshape_p(out, shape=lead + out._data.shape[1:])


def _col2im_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    merged, lead = _merge_first(vals[0], nb)
    new = dict(params)
    shape = tuple(params["shape"])
    new["shape"] = (math.prod(lead),) + shape[1:]
    out = prim(merged, **new)
    return reshape_p(out, shape=lead + shape[1:])


im2col_p = Primitive("im2col", _im2col_impl, nin=1, saves=(), uses_shapes=True, grad_fn_name="Im2ColBackward0",
                     batching=_im2col_batch)  # fmt: skip
col2im_p = Primitive("col2im", _col2im_impl, nin=1, saves=(), grad_fn_name="Col2ImBackward0",
                     batching=_col2im_batch)  # fmt: skip
# The padding value is a constant: its derivative is 0, so tangents and cotangents pad with 0.
im2col_p.def_vjp(
    lambda g, ans, x, *, kernel, stride, padding, pad_value=0.0: col2im_p(
        g, shape=tuple(x.shape), kernel=kernel, stride=stride, padding=padding
    )
)
# (Affine in x when pad_value is not 0, hence no def_linear.)
im2col_p.def_jvp(
    lambda t, ans, x, *, kernel, stride, padding, pad_value=0.0: im2col_p(
        t, kernel=kernel, stride=stride, padding=padding, pad_value=0.0
    )
)
im2col_p.def_jet(T.zero_filled(_im2col_impl, pad_value=0.0))
col2im_p.def_vjp(
    lambda g, ans, x, *, shape, kernel, stride, padding: im2col_p(
        g, kernel=kernel, stride=stride, padding=padding, pad_value=0.0
    )
).def_linear()


def _output_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


# ---------------------------------------------------------------- conv2d
def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """2-D cross-correlation (what deep-learning libraries call convolution), NCHW input and
    OIHW weight, via im2col and one matrix product.

    >>> import chainrule as cr
    >>> cr.conv2d(cr.ones((1, 2, 4, 4)), cr.ones((3, 2, 2, 2)), stride=2).shape
    (1, 3, 2, 2)
    """
    x, w = _arr(x), _arr(w)
    if x.ndim != 4:
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got shape {tuple(w.shape)}")
    n, c, h, wd = x.shape
    o, cw, kh, kw = w.shape
    if c != cw:
        raise ValueError(
            f"conv2d: input has {c} channels but weight expects {cw} (input shape {tuple(x.shape)}, "
            f"weight shape {tuple(w.shape)})"
        )
    sh, sw = _pair(stride, "stride", "conv2d", 1)
    ph, pw = _pair(padding, "padding", "conv2d", 0)
    if kh > h + 2 * ph or kw > wd + 2 * pw:
        raise ValueError(
            f"conv2d: kernel ({kh}, {kw}) is larger than the padded input ({h + 2 * ph}, {wd + 2 * pw})"
        )
    if b is not None:
        b = _arr(b)
        if tuple(b.shape) != (o,):
            raise ValueError(f"conv2d: bias must have shape ({o},) (one per output channel), got {tuple(b.shape)}")
    oh, ow = _output_size(h, kh, sh, ph), _output_size(wd, kw, sw, pw)
    windows = im2col_p(x, kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), pad_value=0.0)
    # (N, C, OH, OW, kh, kw) -> columns (C*kh*kw, N*OH*OW) and one 2-D matmul. With the pixel
    # axes innermost the copy, both products and col2im's adds run on long contiguous rows
    # (measured 1.5x faster end to end than patches-as-rows).
    cols = reshape_p(transpose_p(windows, axes=(1, 4, 5, 0, 2, 3)), shape=(c * kh * kw, n * oh * ow))
    wmat = reshape_p(w, shape=(o, c * kh * kw))
    out = matmul_p(wmat, cols)
    out = transpose_p(reshape_p(out, shape=(o, n, oh, ow)), axes=(1, 0, 2, 3))
    if b is not None:
        out = add_p(out, reshape_p(b, shape=(1, o, 1, 1)))
    return ensure_tensor(out)


# ---------------------------------------------------------------- pooling
def _pool_windows(x: Any, kernel_size: Any, stride: Any, padding: Any, op: str, pad_value: float) -> Any:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    kh, kw = _pair(kernel_size, "kernel_size", op, 1)
    sh, sw = _pair(kernel_size if stride is None else stride, "stride", op, 1)
    ph, pw = _pair(padding, "padding", op, 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{op}: padding {padding!r} must be at most half the kernel size ({kh}, {kw})")
    h, w = x.shape[2], x.shape[3]
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"{op}: kernel ({kh}, {kw}) is larger than the padded input ({h + 2 * ph}, {w + 2 * pw})")
    return im2col_p(x, kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), pad_value=pad_value)


def _kernel_first(windows: Any) -> Any:
    """``(N, C, OH, OW, kh, kw)`` windows as ``(kh*kw, N, C, OH, OW)``: reducing over the leading
    axis is elementwise work on whole images, where NumPy's reductions over a short last axis
    are an order of magnitude slower."""
    n, c, oh, ow, kh, kw = windows.shape
    return reshape_p(transpose_p(windows, axes=(4, 5, 0, 1, 2, 3)), shape=(kh * kw, n, c, oh, ow))


def _first_max_mask_impl(x: Any, *, axis: int, xp: Any = np) -> Any:
    """True at the first maximal entry along ``axis`` (a NaN counts as maximal, so it
    propagates), False elsewhere: which entry of each max-pooling window wins."""
    if xp is not np:
        stacked = xp.moveaxis(x, axis, 0)
        best = xp.max(stacked, axis=0)
        floating = dtype_kind(x.dtype) in "fc"
        taken = None
        rows = []
        for k in range(stacked.shape[0]):
            hit = stacked[k, ...] == best
            if floating:
                hit = hit | xp.isnan(stacked[k, ...])
            rows.append(hit if taken is None else hit & ~taken)
            taken = hit if taken is None else taken | hit
        return xp.moveaxis(xp.stack(rows, axis=0), 0, axis)
    x = np.asarray(x)
    stacked = np.moveaxis(x, axis, 0)
    best = np.max(stacked, axis=0)
    taken = np.zeros(best.shape, dtype=bool)
    mask = np.empty(x.shape, dtype=bool)
    out = np.moveaxis(mask, axis, 0)  # a view: writing it fills ``mask``
    for k in range(stacked.shape[0]):  # one vectorised pass per kernel position
        hit = stacked[k] == best
        if stacked.dtype.kind == "f":
            hit |= np.isnan(stacked[k])
        np.greater(hit, taken, out=out[k])  # hit and not taken
        taken |= hit
    return mask


first_max_mask_p = Primitive("first_max_mask", _first_max_mask_impl, nin=1, saves=(), differentiable=False,
                             batching="axis")  # fmt: skip


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Maximum over each window of an NCHW input (``stride`` defaults to ``kernel_size``).

    The gradient goes to the first maximal entry of each window.

    >>> import chainrule as cr
    >>> cr.max_pool2d(cr.reshape(cr.arange(16.0), (1, 1, 4, 4)), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]], dtype=float64)
    """
    x = _arr(x)
    dtype = np_dtype(_data(x).dtype)
    pad_value = -np.inf if dtype.kind == "f" else (np.iinfo(dtype).min if dtype.kind in "iu" else False)
    windows = _pool_windows(x, kernel_size, stride, padding, "max_pool2d", pad_value)
    stacked = _kernel_first(windows)
    # Which entry of each window wins is a constant of the data: select it, sum the rest away.
    winner = first_max_mask_p(stacked, axis=0)
    return ensure_tensor(sum_p(where_p(winner, stacked, 0), axis=(0,), keepdims=False))


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean over each window of an NCHW input (``stride`` defaults to ``kernel_size``; zero
    padding counts in the mean).

    >>> import chainrule as cr
    >>> cr.avg_pool2d(cr.reshape(cr.arange(16.0), (1, 1, 4, 4)), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]], dtype=float64)
    """
    x = _arr(x)
    _require_float(x, "avg_pool2d")
    windows = _pool_windows(x, kernel_size, stride, padding, "avg_pool2d", 0.0)
    stacked = _kernel_first(windows)
    return ensure_tensor(mul_p(sum_p(stacked, axis=(0,), keepdims=False), 1.0 / stacked.shape[0]))


# ---------------------------------------------------------------- dropout
def dropout(x: Any, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None) -> Tensor:
    """Zero each entry with probability ``p`` and scale the rest by ``1 / (1 - p)``, so the
    expectation is unchanged. Identity when ``training`` is False. Draws from ``generator``, or
    from ``chainrule.random``'s seeded generator.

    >>> import chainrule as cr
    >>> y = cr.dropout(cr.ones(1000), p=0.5, generator=cr.random.generator())
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    x = _arr(x)
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0.0:
        return ensure_tensor(x)
    data = _data(x)
    dtype = np_dtype(data.dtype)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    if p == 1.0:
        return ensure_tensor(mul_p(x, const_like(np.zeros(data.shape, dtype=dtype), data)))
    if generator is None:
        from chainrule.random import generator as default_generator

        generator = default_generator()
    # float64 draws whatever the dtype: a seed gives the same mask in float32 and float64.
    draws = generator.random(data.shape)
    scale = (draws >= p).astype(dtype) * dtype.type(1.0 / (1.0 - p))
    # (Drawn on the host by NumPy's generator, so a seed gives the same mask in every library.)
    return ensure_tensor(mul_p(x, const_like(scale, data)))


# ---------------------------------------------------------------- Tensor methods
def install() -> None:
    """Attach ``.softmax`` and ``.log_softmax`` to Tensor."""
    Tensor.softmax = lambda self, axis=-1: softmax(self, axis)
    Tensor.log_softmax = lambda self, axis=-1: log_softmax(self, axis)
