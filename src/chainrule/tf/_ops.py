"""TensorFlow's op names mapped onto chainrule's native functions.

Each function converts its arguments with TensorFlow's rules, calls one native function (or a
short composition of them) and re-classes the result as a dialect Tensor. No derivative rules
live here: every gradient comes from the native primitives.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._tensor import (
    Tensor,
    as_dtype,
    convert_to_tensor,
    float32,
    operand,
    to_tensor,
    wrap,
)  # fmt: skip

_Native = cr.Tensor


def _np(dtype: Any) -> np.dtype:
    return as_dtype(dtype).dtype


def _axis(axis: Any) -> Any:
    if axis is None:
        return None
    if isinstance(axis, _Native):
        axis = _Native.numpy(axis).tolist()
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, _Native):
        shape = _Native.numpy(shape).tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _pair(x: Any, y: Any) -> tuple[Any, Any]:
    """Both operands of a binary op, the non-tensor one converted to the tensor's dtype."""
    if isinstance(x, _Native):
        return x, operand(y, x.dtype)
    if isinstance(y, _Native):
        return operand(x, y.dtype), y
    x = convert_to_tensor(x)
    return x, operand(y, x.dtype)


# ---------------------------------------------------------------- casting and shapes
def cast(x: Any, dtype: Any, name: Any = None) -> Tensor:
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero); differentiable
    between floating dtypes.

    >>> from chainrule import tf
    >>> tf.cast([1.7, -1.7], tf.int32)
    <tf.Tensor: shape=(2,), dtype=int32, numpy=array([ 1, -1], dtype=int32)>
    """
    return wrap(cr.astype(to_tensor(x), _np(dtype)))


def identity(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """A tensor with the same values (connected to ``input`` for gradients).

    >>> from chainrule import tf
    >>> tf.identity(tf.Variable([1.0]))
    <tf.Tensor: shape=(1,), dtype=float32, numpy=array([1.], dtype=float32)>
    """
    t = to_tensor(input)
    return wrap(cr.reshape(t, tuple(t.shape)))


def reshape(tensor: Any, shape: Any, name: Any = None) -> Tensor:
    """The values in a new shape (one entry may be -1).

    >>> from chainrule import tf
    >>> tf.reshape(tf.range(6), (2, -1)).shape
    TensorShape([2, 3])
    """
    return wrap(cr.reshape(to_tensor(tensor), _shape(shape)))


def transpose(a: Any, perm: Any = None, conjugate: bool = False, name: Any = None) -> Tensor:
    """Permute the axes (reverse them when ``perm`` is None).

    >>> from chainrule import tf
    >>> tf.transpose(tf.ones((2, 3))).shape
    TensorShape([3, 2])
    """
    return wrap(cr.transpose(to_tensor(a), None if perm is None else _shape(perm)))


def expand_dims(input: Any, axis: int, name: Any = None) -> Tensor:  # noqa: A002
    """Insert an axis of length 1 at ``axis``.

    >>> from chainrule import tf
    >>> tf.expand_dims(tf.ones(3), 0).shape
    TensorShape([1, 3])
    """
    return wrap(cr.expand_dims(to_tensor(input), int(axis)))


def squeeze(input: Any, axis: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Remove axes of length 1 (all of them, or those in ``axis``).

    >>> from chainrule import tf
    >>> tf.squeeze(tf.ones((1, 3, 1))).shape
    TensorShape([3])
    """
    return wrap(cr.squeeze(to_tensor(input), _axis(axis)))


def concat(values: Any, axis: int, name: Any = None) -> Tensor:
    """Join tensors along an existing axis.

    >>> from chainrule import tf
    >>> tf.concat([tf.ones((1, 2)), tf.zeros((1, 2))], axis=0).shape
    TensorShape([2, 2])
    """
    return wrap(cr.concatenate([to_tensor(v) for v in values], axis=int(axis)))


def stack(values: Any, axis: int = 0, name: Any = None) -> Tensor:
    """Join tensors along a new axis.

    >>> from chainrule import tf
    >>> tf.stack([tf.constant(1.0), tf.constant(2.0)])
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], dtype=float32)>
    """
    return wrap(cr.stack([to_tensor(v) for v in values], axis=int(axis)))


def gather(params: Any, indices: Any, axis: Any = None, batch_dims: int = 0, name: Any = None) -> Tensor:
    """The slices of ``params`` at ``indices`` along ``axis`` (0 by default).

    >>> from chainrule import tf
    >>> tf.gather(tf.constant([10.0, 20.0, 30.0]), [2, 0])
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([30., 10.], dtype=float32)>
    """
    if batch_dims:
        raise NotImplementedError("tf.gather: batch_dims is not supported by the chainrule dialect")
    idx = _Native.numpy(indices) if isinstance(indices, _Native) else np.asarray(indices)
    return wrap(cr.take(to_tensor(params), idx, axis=0 if axis is None else int(axis)))


def shape(input: Any, out_type: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """The shape as an int32 tensor.

    >>> from chainrule import tf
    >>> tf.shape(tf.ones((2, 3)))
    <tf.Tensor: shape=(2,), dtype=int32, numpy=array([2, 3], dtype=int32)>
    """
    dt = np.int32 if out_type is None else _np(out_type)
    return wrap(cr.constant(np.array(to_tensor(input).shape, dtype=dt)))


def size(input: Any, out_type: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """The number of elements as an int32 scalar tensor.

    >>> from chainrule import tf
    >>> print(tf.size(tf.ones((2, 3))))
    tf.Tensor(6, shape=(), dtype=int32)
    """
    dt = np.int32 if out_type is None else _np(out_type)
    return wrap(cr.constant(np.array(to_tensor(input).size, dtype=dt)))


def rank(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The number of dimensions as an int32 scalar tensor.

    >>> from chainrule import tf
    >>> int(tf.rank(tf.ones((2, 3))))
    2
    """
    return wrap(cr.constant(np.array(to_tensor(input).ndim, dtype=np.int32)))


# ---------------------------------------------------------------- creation
def ones(shape: Any, dtype: Any = float32, name: Any = None) -> Tensor:
    """Ones of the given shape (float32 unless ``dtype`` says otherwise).

    >>> from chainrule import tf
    >>> tf.ones(3)
    <tf.Tensor: shape=(3,), dtype=float32, numpy=array([1., 1., 1.], dtype=float32)>
    """
    return wrap(cr.ones(*_shape(shape), dtype=_np(dtype)))


def zeros(shape: Any, dtype: Any = float32, name: Any = None) -> Tensor:
    """Zeros of the given shape (float32 unless ``dtype`` says otherwise).

    >>> from chainrule import tf
    >>> tf.zeros((1, 2))
    <tf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[0., 0.]], dtype=float32)>
    """
    return wrap(cr.zeros(*_shape(shape), dtype=_np(dtype)))


def ones_like(input: Any, dtype: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Ones with the shape (and dtype, unless given) of ``input``.

    >>> from chainrule import tf
    >>> tf.ones_like(tf.constant([1, 2]))
    <tf.Tensor: shape=(2,), dtype=int32, numpy=array([1, 1], dtype=int32)>
    """
    t = to_tensor(input)
    return wrap(cr.ones_like(t, dtype=t.dtype if dtype is None else _np(dtype)))


def zeros_like(input: Any, dtype: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """Zeros with the shape (and dtype, unless given) of ``input``.

    >>> from chainrule import tf
    >>> tf.zeros_like(tf.ones((2,)))
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([0., 0.], dtype=float32)>
    """
    t = to_tensor(input)
    return wrap(cr.zeros_like(t, dtype=t.dtype if dtype is None else _np(dtype)))


def fill(dims: Any, value: Any, name: Any = None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value`` (its dtype by TensorFlow's rules).

    >>> from chainrule import tf
    >>> tf.fill((2,), 7)
    <tf.Tensor: shape=(2,), dtype=int32, numpy=array([7, 7], dtype=int32)>
    """
    v = convert_to_tensor(value)
    return wrap(cr.full(_shape(dims), v.numpy(), dtype=v.dtype))


def tf_range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: Any = None) -> Tensor:
    """``start, start + delta, ...`` below ``limit`` (int32 for ints, float32 for floats).

    >>> from chainrule import tf
    >>> tf.range(4)
    <tf.Tensor: shape=(4,), dtype=int32, numpy=array([0, 1, 2, 3], dtype=int32)>
    >>> tf.range(0.0, 1.0, 0.25).numpy()
    array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    if limit is None:
        start, limit = 0, start
    values = [float(v) if isinstance(v, _Native) and v.dtype.kind == "f" else v for v in (start, limit, delta)]
    if dtype is None:
        floating = builtins.any(np.asarray(v).dtype.kind == "f" for v in values)
        dt = np.dtype(np.float32) if floating else np.dtype(np.int32)
    else:
        dt = _np(dtype)
    return wrap(cr.arange(*[np.asarray(v).item() for v in values], dtype=dt))


tf_range.__name__ = "range"


def linspace(start: Any, stop: Any, num: int, name: Any = None, axis: int = 0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (float32 for Python numbers).

    >>> from chainrule import tf
    >>> tf.linspace(0.0, 1.0, 3)
    <tf.Tensor: shape=(3,), dtype=float32, numpy=array([0. , 0.5, 1. ], dtype=float32)>
    """
    dt = start.dtype if isinstance(start, _Native) and start.dtype.kind == "f" else np.dtype(np.float32)
    # Tensors pass through: TF's linspace is differentiable in start and stop.
    bounds = [v if isinstance(v, _Native) else float(v) for v in (start, stop)]
    return wrap(cr.linspace(bounds[0], bounds[1], int(num), dtype=dt))


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None, axis: Any = None,
            dtype: Any = None, name: Any = None) -> Tensor:  # fmt: skip
    """One-hot vectors of length ``depth`` (float32); indices outside ``[0, depth)`` give zeros.

    >>> from chainrule import tf
    >>> tf.one_hot([0, 2, 5], depth=3)
    <tf.Tensor: shape=(3, 3), dtype=float32, numpy=
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float32)>
    """
    if dtype is not None:
        dt = _np(dtype)
    elif on_value is not None:
        dt = convert_to_tensor(on_value).dtype
    else:
        dt = np.dtype(np.float32)
    idx = to_tensor(indices)
    hits = cr.equal(cr.expand_dims(idx, -1), cr.arange(int(depth), dtype=idx.dtype))
    on = np.asarray(1 if on_value is None else on_value, dtype=dt)
    off = np.asarray(0 if off_value is None else off_value, dtype=dt)
    out = cr.where(hits, on, off)
    if axis is not None and int(axis) != -1:
        out = cr.moveaxis(out, -1, int(axis))
    return wrap(cr.astype(out, dt))


# ---------------------------------------------------------------- arithmetic
def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           adjoint_a: bool = False, adjoint_b: bool = False, name: Any = None) -> Tensor:  # fmt: skip
    """Matrix product over the last two axes (batched over the leading ones).

    >>> from chainrule import tf
    >>> tf.matmul([[1.0, 2.0]], tf.ones((2, 3)))
    <tf.Tensor: shape=(1, 3), dtype=float32, numpy=array([[3., 3., 3.]], dtype=float32)>
    """
    x, y = _pair(a, b)
    x, y = to_tensor(x), to_tensor(y)
    if transpose_a or adjoint_a:
        x = cr.swapaxes(x, -1, -2)
    if transpose_b or adjoint_b:
        y = cr.swapaxes(y, -1, -2)
    return wrap(cr.matmul(x, y))


def _binary_op(native: Callable[..., Any], tf_name: str, example: str) -> Callable[..., Tensor]:
    def op(x: Any, y: Any, name: Any = None) -> Tensor:
        a, b = _pair(x, y)
        return wrap(native(a, b))

    op.__name__ = op.__qualname__ = tf_name
    op.__doc__ = (
        f"TensorFlow's ``tf.{tf_name}``, elementwise with broadcasting (chainrule's ``{native.__name__}``).\n\n"
        f"    >>> from chainrule import tf\n    >>> {example}\n    {_EXAMPLES[example]}\n"
    )
    return op


def _unary_op(native: Callable[..., Any], tf_name: str, example: str) -> Callable[..., Tensor]:
    def op(x: Any, name: Any = None) -> Tensor:
        return wrap(native(to_tensor(x)))

    op.__name__ = op.__qualname__ = tf_name
    op.__doc__ = (
        f"TensorFlow's ``tf.{tf_name}``, elementwise (chainrule's ``{native.__name__}``).\n\n"
        f"    >>> from chainrule import tf\n    >>> {example}\n    {_EXAMPLES[example]}\n"
    )
    return op


# The doctest outputs of the generated functions, written out (never computed by eval).
_EXAMPLES: dict[str, str] = {}


def _register(example: str, output: str) -> str:
    _EXAMPLES[example] = output
    return example


add = _binary_op(cr.add, "add", _register("tf.add(1.0, tf.constant([1.0, 2.0])).numpy()", "array([2., 3.], dtype=float32)"))
subtract = _binary_op(cr.subtract, "subtract", _register("tf.subtract(tf.constant([3.0]), 1).numpy()", "array([2.], dtype=float32)"))
multiply = _binary_op(cr.multiply, "multiply", _register("tf.multiply([2.0, 3.0], tf.constant(2.0)).numpy()", "array([4., 6.], dtype=float32)"))
divide = _binary_op(cr.divide, "divide", _register("tf.divide(tf.constant([3.0]), 2.0).numpy()", "array([1.5], dtype=float32)"))
pow = _binary_op(cr.power, "pow", _register("tf.pow(tf.constant([2.0, 3.0]), 2).numpy()", "array([4., 9.], dtype=float32)"))  # noqa: A001
maximum = _binary_op(cr.maximum, "maximum", _register("tf.maximum(tf.constant([1.0, 5.0]), 2.0).numpy()", "array([2., 5.], dtype=float32)"))
minimum = _binary_op(cr.minimum, "minimum", _register("tf.minimum(tf.constant([1.0, 5.0]), 2.0).numpy()", "array([1., 2.], dtype=float32)"))
equal = _binary_op(cr.equal, "equal", _register("tf.equal(tf.constant([1, 2]), 2).numpy()", "array([False,  True])"))
not_equal = _binary_op(cr.not_equal, "not_equal", _register("tf.not_equal(tf.constant([1, 2]), 2).numpy()", "array([ True, False])"))
less = _binary_op(cr.less, "less", _register("tf.less(tf.constant([1, 2]), 2).numpy()", "array([ True, False])"))
less_equal = _binary_op(cr.less_equal, "less_equal", _register("tf.less_equal(tf.constant([1, 3]), 2).numpy()", "array([ True, False])"))
greater = _binary_op(cr.greater, "greater", _register("tf.greater(tf.constant([1, 3]), 2).numpy()", "array([False,  True])"))
greater_equal = _binary_op(cr.greater_equal, "greater_equal", _register("tf.greater_equal(tf.constant([1, 2]), 2).numpy()", "array([False,  True])"))

square = _unary_op(cr.square, "square", _register("tf.square(tf.constant([3.0])).numpy()", "array([9.], dtype=float32)"))
sqrt = _unary_op(cr.sqrt, "sqrt", _register("tf.sqrt(tf.constant([4.0])).numpy()", "array([2.], dtype=float32)"))
abs = _unary_op(cr.abs, "abs", _register("tf.abs(tf.constant([-2.0])).numpy()", "array([2.], dtype=float32)"))  # noqa: A001
exp = _unary_op(cr.exp, "exp", _register("tf.exp(tf.constant([0.0])).numpy()", "array([1.], dtype=float32)"))
log = _unary_op(cr.log, "log", _register("tf.math.log(tf.constant([1.0])).numpy()", "array([0.], dtype=float32)"))
log1p = _unary_op(cr.log1p, "log1p", _register("tf.math.log1p(tf.constant([0.0])).numpy()", "array([0.], dtype=float32)"))
sin = _unary_op(cr.sin, "sin", _register("tf.sin(tf.constant([0.0])).numpy()", "array([0.], dtype=float32)"))
cos = _unary_op(cr.cos, "cos", _register("tf.cos(tf.constant([0.0])).numpy()", "array([1.], dtype=float32)"))
tan = _unary_op(cr.tan, "tan", _register("tf.tan(tf.constant([0.0])).numpy()", "array([0.], dtype=float32)"))
tanh = _unary_op(cr.tanh, "tanh", _register("tf.tanh(tf.constant([0.0])).numpy()", "array([0.], dtype=float32)"))
sigmoid = _unary_op(cr.sigmoid, "sigmoid", _register("tf.sigmoid(tf.constant([0.0])).numpy()", "array([0.5], dtype=float32)"))
negative = _unary_op(cr.neg, "negative", _register("tf.negative(tf.constant([2.0])).numpy()", "array([-2.], dtype=float32)"))
reciprocal = _unary_op(cr.reciprocal, "reciprocal", _register("tf.math.reciprocal(tf.constant([4.0])).numpy()", "array([0.25], dtype=float32)"))
sign = _unary_op(cr.sign, "sign", _register("tf.sign(tf.constant([-3.0, 2.0])).numpy()", "array([-1.,  1.], dtype=float32)"))
softplus = _unary_op(cr.softplus, "softplus", _register("tf.math.softplus(tf.constant([0.0])).numpy().round(4)", "array([0.6931], dtype=float32)"))
relu = _unary_op(cr.relu, "relu", _register("tf.nn.relu(tf.constant([-1.0, 2.0])).numpy()", "array([0., 2.], dtype=float32)"))


def add_n(inputs: Any, name: Any = None) -> Tensor:
    """The elementwise sum of a list of tensors of one shape.

    >>> from chainrule import tf
    >>> tf.add_n([tf.ones(2), tf.ones(2), tf.ones(2)]).numpy()
    array([3., 3.], dtype=float32)
    """
    items = [to_tensor(t) for t in inputs]
    if not items:
        raise ValueError("tf.add_n: inputs must be a non-empty list of tensors")
    return wrap(cr.sum(cr.stack(items, axis=0), axis=0))


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: Any = None) -> Tensor:
    """Values clipped into ``[clip_value_min, clip_value_max]``.

    >>> from chainrule import tf
    >>> tf.clip_by_value(tf.constant([-2.0, 0.5, 2.0]), -1.0, 1.0).numpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    x = to_tensor(t)
    return wrap(cr.clip(x, operand(clip_value_min, x.dtype), operand(clip_value_max, x.dtype)))


def where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Tensor:
    """``x`` where ``condition`` holds, else ``y``; with only ``condition``, the int64
    coordinates of its true entries.

    >>> from chainrule import tf
    >>> tf.where([True, False], tf.constant([1.0, 2.0]), 0.0).numpy()
    array([1., 0.], dtype=float32)
    >>> tf.where([True, False, True]).numpy().ravel()
    array([0, 2])
    """
    cond = to_tensor(condition)
    if x is None and y is None:
        return wrap(cr.constant(np.argwhere(_Native.numpy(cond)).astype(np.int64)))
    if x is None or y is None:
        raise ValueError("tf.where: give both x and y, or neither")
    a, b = _pair(x, y)
    return wrap(cr.where(cond, a, b))


def argmax(input: Any, axis: Any = None, output_type: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """The index of the largest value along ``axis`` (0 by default, as in TensorFlow), int64.

    >>> from chainrule import tf
    >>> tf.argmax(tf.constant([[1.0, 5.0], [7.0, 2.0]]), axis=1).numpy()
    array([1, 0])
    """
    dt = np.int64 if output_type is None else _np(output_type)
    return wrap(cr.astype(cr.argmax(to_tensor(input), axis=0 if axis is None else int(axis)), dt))


def argmin(input: Any, axis: Any = None, output_type: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """The index of the smallest value along ``axis`` (0 by default), int64.

    >>> from chainrule import tf
    >>> tf.argmin(tf.constant([3.0, 1.0, 2.0])).numpy()
    np.int64(1)
    """
    dt = np.int64 if output_type is None else _np(output_type)
    return wrap(cr.astype(cr.argmin(to_tensor(input), axis=0 if axis is None else int(axis)), dt))


# ---------------------------------------------------------------- reductions
def _reduction(native: Callable[..., Any], tf_name: str, keeps_int: bool, example: str) -> Callable[..., Tensor]:
    def op(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
        x = to_tensor(input_tensor)
        out = native(x, axis=_axis(axis), keepdims=bool(keepdims))
        if keeps_int and x.dtype.kind in "iu" and out.dtype != x.dtype:
            # TensorFlow keeps an integer tensor's dtype (NumPy widens sums and products to
            # int64), and its integer mean truncates.
            out = cr.astype(out, x.dtype)
        return wrap(out)

    op.__name__ = op.__qualname__ = tf_name
    op.__doc__ = (
        f"TensorFlow's ``tf.{tf_name}`` over ``axis`` (an int, a list, or None for all axes), "
        f"keeping reduced axes with ``keepdims``.\n\n"
        f"    >>> from chainrule import tf\n    >>> {example}\n    {_EXAMPLES[example]}\n"
    )
    return op


reduce_sum = _reduction(cr.sum, "reduce_sum", True, _register("tf.reduce_sum(tf.constant([[1.0, 2.0], [3.0, 4.0]]), axis=0).numpy()", "array([4., 6.], dtype=float32)"))
reduce_mean = _reduction(cr.mean, "reduce_mean", True, _register("tf.reduce_mean(tf.constant([1.0, 2.0])).numpy()", "np.float32(1.5)"))
reduce_max = _reduction(cr.max, "reduce_max", False, _register("tf.reduce_max(tf.constant([[1.0, 5.0]]), axis=1, keepdims=True).numpy()", "array([[5.]], dtype=float32)"))
reduce_min = _reduction(cr.min, "reduce_min", False, _register("tf.reduce_min(tf.constant([3.0, 1.0])).numpy()", "np.float32(1.0)"))
reduce_prod = _reduction(cr.prod, "reduce_prod", True, _register("tf.reduce_prod(tf.constant([2.0, 3.0])).numpy()", "np.float32(6.0)"))
reduce_logsumexp = _reduction(cr.logsumexp, "reduce_logsumexp", False, _register("tf.reduce_logsumexp(tf.constant([0.0, 0.0])).numpy().round(4)", "np.float32(0.6931)"))


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """The population variance over ``axis``.

    >>> from chainrule import tf
    >>> tf.math.reduce_variance(tf.constant([1.0, 3.0])).numpy()
    np.float32(1.0)
    """
    return wrap(cr.var(to_tensor(input_tensor), axis=_axis(axis), keepdims=bool(keepdims)))


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """The population standard deviation over ``axis``.

    >>> from chainrule import tf
    >>> tf.math.reduce_std(tf.constant([1.0, 3.0])).numpy()
    np.float32(1.0)
    """
    return wrap(cr.std(to_tensor(input_tensor), axis=_axis(axis), keepdims=bool(keepdims)))


# ---------------------------------------------------------------- softmax family
def softmax(logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """Softmax along ``axis``.

    >>> from chainrule import tf
    >>> tf.nn.softmax([0.0, 0.0]).numpy()
    array([0.5, 0.5], dtype=float32)
    """
    return wrap(cr.softmax(to_tensor(logits), axis=int(axis)))


def log_softmax(logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """Log-softmax along ``axis``.

    >>> from chainrule import tf
    >>> tf.nn.log_softmax([0.0, 0.0]).numpy().round(4)
    array([-0.6931, -0.6931], dtype=float32)
    """
    return wrap(cr.log_softmax(to_tensor(logits), axis=int(axis)))


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Tensor:
    """Einstein summation over the inputs.

    >>> from chainrule import tf
    >>> tf.einsum("ij,j->i", tf.ones((2, 3)), tf.ones(3)).numpy()
    array([3., 3.], dtype=float32)
    """
    return wrap(cr.einsum(equation, *[to_tensor(x) for x in inputs]))


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Logical and over ``axis`` (no gradient).

    >>> from chainrule import tf
    >>> tf.reduce_all(tf.constant([True, False])).numpy()
    np.False_
    """
    values = _Native.numpy(to_tensor(input_tensor)).astype(bool)
    return wrap(cr.constant(np.all(values, axis=_axis(axis), keepdims=bool(keepdims))))


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Logical or over ``axis`` (no gradient).

    >>> from chainrule import tf
    >>> tf.reduce_any(tf.constant([True, False])).numpy()
    np.True_
    """
    values = _Native.numpy(to_tensor(input_tensor)).astype(bool)
    return wrap(cr.constant(np.any(values, axis=_axis(axis), keepdims=bool(keepdims))))


def eye(num_rows: int, num_columns: Any = None, batch_shape: Any = None, dtype: Any = float32,
        name: Any = None) -> Tensor:  # fmt: skip
    """The identity matrix (float32 by default).

    >>> from chainrule import tf
    >>> tf.eye(2)
    <tf.Tensor: shape=(2, 2), dtype=float32, numpy=
    array([[1., 0.],
           [0., 1.]], dtype=float32)>
    """
    if batch_shape is not None:
        raise NotImplementedError("tf.eye: batch_shape is not supported by the chainrule dialect")
    return wrap(cr.eye(int(num_rows), None if num_columns is None else int(num_columns), dtype=_np(dtype)))


# ---------------------------------------------------------------- norms, padding, contraction
def _vector_norm(x: Any, p: Any, axis: Any, keepdims: bool) -> Any:
    if p in ("euclidean", "fro", 2, 2.0):
        return cr.norm(x, None, axis, keepdims)
    if p in (1, 1.0):
        return cr.sum(cr.abs(x), axis=axis, keepdims=keepdims)
    if p == np.inf:
        return cr.max(cr.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool) and p > 0:
        total = cr.sum(cr.power(cr.abs(x), float(p)), axis=axis, keepdims=keepdims)
        return cr.power(total, 1.0 / float(p))
    raise ValueError(f"tf.norm: 'ord' must be a supported vector norm ('euclidean', 1, 2, np.inf or a positive real), got {p!r}")


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: Any = None, name: Any = None) -> Tensor:  # noqa: A002
    """The norm of ``tensor``: over all entries (``axis=None``, a vector or Frobenius norm), along
    one axis (a vector norm) or over a pair of axes (a matrix norm).

    Vector norms: ``'euclidean'``/``2``, ``1``, ``np.inf`` and any positive real ``p``. Matrix
    norms (``axis`` a pair): ``'euclidean'``/``'fro'``, ``1`` (largest column sum) and ``np.inf``
    (largest row sum); the spectral norm (``ord=2``) is not supported by the dialect. The
    Euclidean norm's gradient at the zero vector is 0 here (chainrule's convention), NaN in
    TensorFlow.

    >>> from chainrule import tf
    >>> tf.norm(tf.constant([[3.0, 4.0], [1.0, 1.0]]), axis=1).numpy()
    array([5.       , 1.4142135], dtype=float32)
    >>> tf.norm(tf.constant([3.0, -4.0]), ord=1).numpy()
    np.float32(7.0)
    """
    x = to_tensor(tensor)
    keep = bool(keepdims)
    ax = _axis(axis)
    if isinstance(ax, tuple) and len(ax) == 2:
        rows, cols = (a % x.ndim for a in ax)
        if rows == cols:
            raise ValueError(f"tf.norm: the two axes of a matrix norm must differ, got {axis}")
        if ord in ("euclidean", "fro"):
            return wrap(cr.norm(x, None, (rows, cols), keep))
        if ord in (1, np.inf):
            summed, largest = (rows, cols) if ord == 1 else (cols, rows)
            out = cr.max(cr.sum(cr.abs(x), axis=summed, keepdims=True), axis=largest, keepdims=True)
            return wrap(out if keep else cr.squeeze(out, (rows, cols)))
        if ord in (2, 2.0):
            raise NotImplementedError(
                "tf.norm: the spectral matrix norm (ord=2 with two axes) is not supported by the "
                "chainrule TensorFlow dialect; use 'fro', 1 or np.inf"
            )
        raise ValueError(f"tf.norm: 'ord' must be a supported matrix norm ('euclidean', 'fro', 1, 2, np.inf), got {ord!r}")
    if isinstance(ax, tuple) and len(ax) != 1:
        raise ValueError(f"tf.norm: axis must be None, an int or a pair of ints, got {axis}")
    if ord == "fro" and ax is not None:
        raise ValueError("tf.norm: 'fro' is a matrix norm; give a pair of axes, or use 'euclidean'")
    return wrap(_vector_norm(x, ord, ax, keep))


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: Any = None) -> Tensor:
    """``t`` scaled down so that its L2 norm (over ``axes``, all by default) is at most
    ``clip_norm``: ``t * clip_norm / max(norm(t), clip_norm)``. Differentiable in ``t``, through
    the norm too; a zero ``t`` stays zero with a finite gradient, as in TensorFlow.

    >>> from chainrule import tf
    >>> tf.clip_by_norm(tf.constant([3.0, 4.0]), 1.0).numpy()
    array([0.6, 0.8], dtype=float32)
    >>> tf.clip_by_norm(tf.constant(4.0), 0.5).numpy()
    np.float32(0.5)
    """
    x = to_tensor(t)
    if x.dtype.kind != "f":
        raise TypeError(f"tf.clip_by_norm: t must be a floating tensor, got {x.dtype.name}")
    limit = operand(clip_norm, x.dtype)
    squares = cr.sum(cr.square(x), axis=_axis(axes), keepdims=True)
    positive = cr.greater(squares, 0)
    # sqrt only ever sees a positive number, so a zero input gets a finite gradient.
    length = cr.where(positive, cr.sqrt(cr.where(positive, squares, cr.ones_like(squares))), squares)
    return wrap(cr.divide(cr.multiply(x, limit), cr.maximum(length, limit)))


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0, name: Any = None) -> Tensor:
    """Pad each axis with ``paddings[i] = [before, after]`` entries of ``constant_values``.

    Only ``mode='CONSTANT'`` is supported by the dialect. The gradient reaches ``tensor``, not
    ``constant_values`` (as in TensorFlow).

    >>> from chainrule import tf
    >>> tf.pad(tf.ones((1, 2)), [[0, 0], [1, 1]], constant_values=-2.0).numpy()
    array([[-2.,  1.,  1., -2.]], dtype=float32)
    """
    x = to_tensor(tensor)
    if str(mode).upper() != "CONSTANT":
        raise NotImplementedError(
            f"tf.pad: mode={mode!r} is not supported by the chainrule TensorFlow dialect; only 'CONSTANT' is"
        )
    widths = _Native.numpy(paddings) if isinstance(paddings, _Native) else np.asarray(paddings)
    if widths.shape != (x.ndim, 2):
        raise ValueError(
            f"tf.pad: paddings must have shape [{x.ndim}, 2] (one [before, after] pair per axis of a "
            f"tensor of shape {tuple(x.shape)}), got {widths.shape}"
        )
    if (widths < 0).any():
        raise ValueError(f"tf.pad: paddings must be non-negative, got {widths.tolist()}")
    fill = _Native.numpy(constant_values) if isinstance(constant_values, _Native) else np.asarray(constant_values)
    if fill.size != 1:
        raise ValueError(f"tf.pad: constant_values must be a scalar, got shape {fill.shape}")
    value = fill.reshape(()).astype(x.dtype).item()
    return wrap(cr.pad(x, [tuple(int(w) for w in pair) for pair in widths], constant_values=value))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def tensordot(a: Any, b: Any, axes: Any, name: Any = None) -> Tensor:
    """Contract ``a`` and ``b`` over ``axes``: an int ``N`` (the last N axes of ``a`` with the
    first N of ``b``) or a pair of axis lists ``[a_axes, b_axes]``.

    >>> from chainrule import tf
    >>> tf.tensordot(tf.ones((2, 3)), tf.ones((3, 4)), axes=1).shape
    TensorShape([2, 4])
    >>> tf.tensordot(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]), axes=[[0], [0]]).numpy()
    np.float32(11.0)
    """
    x, y = _pair(a, b)
    x, y = to_tensor(x), to_tensor(y)
    if isinstance(axes, _Native):
        axes = _Native.numpy(axes).tolist()
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(x.ndim, y.ndim):
            raise ValueError(f"tf.tensordot: axes={n} does not fit tensors of ranks {x.ndim} and {y.ndim}")
        a_axes, b_axes = list(range(x.ndim - n, x.ndim)), list(range(n))
    else:
        try:
            a_axes, b_axes = ([int(i) for i in np.atleast_1d(part)] for part in axes)
        except (TypeError, ValueError):
            raise ValueError(f"tf.tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
        a_axes = [i % x.ndim for i in a_axes]
        b_axes = [i % y.ndim for i in b_axes]
    if len(a_axes) != len(b_axes) or any(x.shape[i] != y.shape[j] for i, j in zip(a_axes, b_axes)):
        raise ValueError(
            f"tf.tensordot: cannot contract axes {a_axes} of shape {tuple(x.shape)} with axes {b_axes} "
            f"of shape {tuple(y.shape)}"
        )
    if x.ndim + y.ndim - len(a_axes) > len(_LETTERS):
        raise ValueError("tf.tensordot: too many axes for the chainrule TensorFlow dialect")
    x_sub = list(_LETTERS[: x.ndim])
    y_sub = list(_LETTERS[x.ndim : x.ndim + y.ndim])
    for i, j in zip(a_axes, b_axes):
        y_sub[j] = x_sub[i]
    kept = [c for i, c in enumerate(x_sub) if i not in a_axes] + [c for j, c in enumerate(y_sub) if j not in b_axes]
    return wrap(cr.einsum(f"{''.join(x_sub)},{''.join(y_sub)}->{''.join(kept)}", x, y))


def elu(features: Any, name: Any = None) -> Tensor:
    """``x`` for positive ``x``, ``exp(x) - 1`` otherwise (chainrule's ``elu``).

    >>> from chainrule import tf
    >>> tf.nn.elu(tf.constant([-1.0, 1.0])).numpy()
    array([-0.63212055,  1.        ], dtype=float32)
    """
    return wrap(cr.elu(to_tensor(features)))
