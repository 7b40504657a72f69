"""The dialect's Tensor and Variable: native chainrule tensors that print and convert as TensorFlow's.

How results become ``tf.Tensor``: every native op returns a native ``chainrule.Tensor``. The
dialect's :class:`Tensor` subclasses it and adds no slots; its concrete class :class:`EagerTensor`
(TensorFlow's name for an eager value, ``type(x).__name__``) neither, so a fresh native result can
simply be re-classed (``result.__class__ = EagerTensor``): no copy, no wrapper object, the graph
untouched. :func:`wrap` does that for exact native tensors only (a Variable, or any other
subclass, is left as it is). The dialect's operators (``+``, ``@``, ``[]``...) call the native
ones and wrap. ``tf.Variable(...)`` likewise builds a :class:`ResourceVariable`, as TensorFlow's does.

NumPy sees the values, as in TensorFlow: ``np.mean(t, axis=0)`` or ``np.sin(t)`` compute on them
and return a NumPy array (which no tape follows), while ``ndarray * t`` is the tensor's operator.

Conversion follows TensorFlow: Python floats become float32, Python ints int32 (int64 when they
do not fit), NumPy arrays keep their dtype; the other operand of an operator is converted to the
tensor's dtype, and two tensors of different dtypes cannot be combined.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.transforms import Traced as _Traced
from chainrule.transforms import retype as _retype

__all__ = [
    "DType", "TensorShape", "Tensor", "EagerTensor", "Variable", "ResourceVariable", "InvalidArgumentError", "wrap", "wrap_tree",
    "as_dtype", "convert_to_tensor", "constant", "float16", "float32", "float64", "int8", "int16",
    "int32", "int64", "uint8", "bool", "newaxis",
]  # fmt: skip

_NativeTensor = cr.Tensor
_NativeVariable = cr.Variable
_builtin_bool = bool


# ---------------------------------------------------------------- dtypes and shapes
class DType:
    """A TensorFlow dtype (``tf.float32``...), backed by a NumPy dtype.

    NumPy accepts it wherever it takes a dtype, and it compares equal to the NumPy dtype:
    ``tensor.dtype`` is a NumPy dtype in the dialect, so ``x.dtype == tf.float32`` holds.

    >>> from chainrule import tf
    >>> tf.float32
    tf.float32
    >>> tf.constant(1.0).dtype == tf.float32, tf.float32.is_floating
    (True, True)
    """

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    @property
    def name(self) -> str:
        return self.dtype.name

    @property
    def as_numpy_dtype(self) -> type:
        return self.dtype.type

    @property
    def is_floating(self) -> _builtin_bool:
        return self.dtype.kind == "f"

    @property
    def is_integer(self) -> _builtin_bool:
        return self.dtype.kind in "iu"

    @property
    def is_bool(self) -> _builtin_bool:
        return self.dtype.kind == "b"

    @property
    def base_dtype(self) -> DType:
        return self

    def __eq__(self, other: object) -> _builtin_bool:
        if isinstance(other, DType):
            return self.dtype == other.dtype
        if other is None:
            return False
        try:
            return _builtin_bool(self.dtype == np.dtype(other))  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"tf.{self.dtype.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.dtype.name}'>"


float16 = DType(np.float16)
float32 = DType(np.float32)
float64 = DType(np.float64)
int8 = DType(np.int8)
int16 = DType(np.int16)
int32 = DType(np.int32)
int64 = DType(np.int64)
uint8 = DType(np.uint8)
bool = DType(np.bool_)  # noqa: A001 - TensorFlow's name
newaxis = None

_BY_NAME = {d.name: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool)}


def as_dtype(value: Any) -> DType:
    """The :class:`DType` for ``value`` (a DType, a NumPy dtype, a type or a name).

    >>> from chainrule import tf
    >>> tf.as_dtype("float64"), tf.as_dtype(float)
    (tf.float64, tf.float32)
    """
    if isinstance(value, DType):
        return value
    if value is float:
        return float32
    if value is int:
        return int32
    if value is _builtin_bool:
        return bool
    try:
        name = np.dtype(value).name
    except TypeError:
        raise TypeError(f"Cannot convert {value!r} to a TensorFlow dtype") from None
    found = _BY_NAME.get(name)
    if found is None:
        raise TypeError(f"the TensorFlow dialect has no dtype {name}; use one of {sorted(_BY_NAME)}")
    return found


def _np_dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else as_dtype(dtype).dtype


class TensorShape(tuple):
    """A tensor's shape: a tuple of ints that prints as TensorFlow's does.

    >>> from chainrule import tf
    >>> s = tf.ones((4, 3)).shape
    >>> print(s), s, s.as_list()
    (4, 3)
    (None, TensorShape([4, 3]), [4, 3])
    """

    __slots__ = ()

    def as_list(self) -> list[int]:
        return list(self)

    @property
    def rank(self) -> int:
        return len(self)

    @property
    def ndims(self) -> int:
        return len(self)

    def num_elements(self) -> int:
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        return tuple.__repr__(self)


# ---------------------------------------------------------------- errors
class InvalidArgumentError(TypeError):
    """Raised (as TensorFlow's ``InvalidArgumentError``) when two tensors' dtypes do not match.

    >>> from chainrule import tf
    >>> try:
    ...     tf.constant(1.0) + tf.constant(1.0, dtype=tf.float64)
    ... except tf.errors.InvalidArgumentError as error:
    ...     print("float32" in str(error))
    True
    """


# ---------------------------------------------------------------- conversion
def _fits_int32(arr: np.ndarray) -> _builtin_bool:
    if arr.size == 0:
        return True
    info = np.iinfo(np.int32)
    return _builtin_bool(arr.min() >= info.min and arr.max() <= info.max)


def _infer_array(value: Any) -> np.ndarray:
    """``value`` as an array with TensorFlow's default dtypes (float32, int32)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32)
    if kind in "iu":
        return arr.astype(np.int32) if _fits_int32(arr) else arr.astype(np.int64)
    if kind == "b":
        return arr
    raise TypeError(
        f"Cannot convert {value!r} to a tensor: the TensorFlow dialect holds float, integer or bool "
        f"values, not {arr.dtype}"
    )


def _to_dtype(arr: np.ndarray, dtype: np.dtype, what: Any) -> np.ndarray:
    if arr.dtype == dtype:
        return arr
    if dtype.kind in "iub" and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)) or dtype.kind == "b":
            raise TypeError(f"Cannot convert {what!r} to EagerTensor of dtype {dtype.name}")
    return arr.astype(dtype)


def _holds_tensor(value: Any) -> _builtin_bool:
    if isinstance(value, _NativeTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    return False


def convert_to_tensor(value: Any, dtype: Any = None, dtype_hint: Any = None, name: Any = None) -> Any:
    """``value`` as a tensor: tensors come back as they are, lists of tensors are stacked
    (differentiably), everything else converts with TensorFlow's default dtypes.

    >>> from chainrule import tf
    >>> tf.convert_to_tensor([1.0, 2.0])
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], dtype=float32)>
    >>> tf.convert_to_tensor(3)
    <tf.Tensor: shape=(), dtype=int32, numpy=3>
    """
    want = _np_dtype(dtype)
    if isinstance(value, _NativeTensor):
        if want is not None and value.dtype != want:
            raise ValueError(
                f"Tensor conversion requested dtype {want.name} for Tensor with dtype {value.dtype.name}"
            )
        if type(value) is EagerTensor:
            return value
        # A Variable (or a native tensor) is read through an op, so the result stays connected.
        return wrap(cr.reshape(value, tuple(value.shape)))
    if isinstance(value, (list, tuple)) and value and _holds_tensor(value):
        parts = [convert_to_tensor(v, dtype=dtype, dtype_hint=dtype_hint) for v in value]
        return wrap(cr.stack(parts, axis=0))
    if want is None and dtype_hint is not None and not isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        hint = _np_dtype(dtype_hint)
        if arr.dtype.kind in "iub" or hint.kind == arr.dtype.kind:  # type: ignore[union-attr]
            want = hint
    arr = _infer_array(value) if want is None else _to_dtype(np.asarray(value), want, value)
    return wrap(cr.constant(arr))


def constant(value: Any, dtype: Any = None, shape: Any = None, name: Any = None) -> Tensor:
    """A tensor holding a copy of ``value`` (float32 for Python floats, int32 for ints).

    >>> from chainrule import tf
    >>> print(tf.constant(3.0))
    tf.Tensor(3.0, shape=(), dtype=float32)
    >>> tf.constant([[1, 2, 3]], dtype=tf.float32)
    <tf.Tensor: shape=(1, 3), dtype=float32, numpy=array([[1., 2., 3.]], dtype=float32)>
    >>> tf.constant(0.0, shape=(2,)).numpy()
    array([0., 0.], dtype=float32)
    """
    want = _np_dtype(dtype)
    if isinstance(value, _NativeTensor):
        arr = value.numpy()
        arr = arr if want is None else _to_dtype(arr, want, value)
    else:
        arr = _infer_array(value) if want is None else _to_dtype(np.asarray(value), want, value)
    return wrap(cr.constant(arr, shape=shape))


def operand(value: Any, like: np.dtype) -> Any:
    """The other operand of a binary op, converted to the tensor's dtype ``like`` (TensorFlow's rule)."""
    if isinstance(value, _NativeTensor):
        if value.dtype != like:
            raise InvalidArgumentError(
                f"cannot combine a {like.name} tensor with a {value.dtype.name} tensor; TensorFlow "
                f"does not convert between dtypes implicitly: use tf.cast(x, tf.{like.name})"
            )
        return value
    kind = like.kind
    t = type(value)
    if (t is float and kind == "f") or (t is int and kind in "fiu"):
        return value  # a Python number takes the tensor's dtype in NumPy already
    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        return operand(convert_to_tensor(value), like)
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {like.name}")
    return _to_dtype(arr, like, value)


def to_tensor(value: Any) -> Any:
    """``value`` as a tensor for an op's first argument (tensors pass through unchanged)."""
    if isinstance(value, _NativeTensor):
        return value
    return convert_to_tensor(value)


# ---------------------------------------------------------------- wrapping results
def wrap(x: Any) -> Any:
    """Re-class a fresh native result as a dialect :class:`Tensor` (in place, no copy)."""
    if type(x) is _NativeTensor:
        x.__class__ = EagerTensor
    elif type(x) is _Traced:
        _retype(x, EagerTensor)  # a value traced by tf.function: both behaviours
    return x


def wrap_tree(tree: Any) -> Any:
    """:func:`wrap` every tensor in a list/tuple/dict structure."""
    if type(tree) is _NativeTensor:
        tree.__class__ = EagerTensor
        return tree
    if type(tree) is _Traced:
        return wrap(tree)
    if isinstance(tree, (list, tuple, dict)):
        return cr.transforms.tree_map(wrap, tree)
    return tree


# ---------------------------------------------------------------- printing
def _numpy_value(t: Any) -> Any:
    arr = _NativeTensor._array(t)
    return arr[()] if arr.ndim == 0 else arr


def _value_text(t: Any, is_repr: _builtin_bool) -> str:
    value = _numpy_value(t)
    if isinstance(value, np.generic):
        text = str(value)  # TensorFlow shows a scalar's value without NumPy's type wrapper
    else:
        text = repr(value) if is_repr else str(value)
    return "\n" + text if "\n" in text else text


def _shape_text(t: Any) -> str:
    return tuple.__repr__(tuple(_NativeTensor._array(t).shape))


class _TensorMethods:
    """TensorFlow's printing, conversion and operator rules, shared by Tensor and Variable."""

    __slots__ = ()

    @property
    def shape(self) -> TensorShape:
        return TensorShape(_NativeTensor._array(self).shape)  # type: ignore[arg-type]

    def get_shape(self) -> TensorShape:
        return self.shape

    def numpy(self) -> Any:
        """A copy of the values: a NumPy scalar for a 0-d tensor, else an ndarray (refused for a
        Variable inside ``tf.function``, as TensorFlow refuses ``numpy()`` in a graph)."""
        arr = _NativeTensor.numpy(self)
        return arr[()] if arr.ndim == 0 else arr.copy()

    def __format__(self, spec: str) -> str:
        return format(_numpy_value(self), spec)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            f"'{type(self).__name__}' object does not support item assignment (TensorFlow tensors "
            "are immutable; build a new tensor, e.g. with tf.where, or assign to a tf.Variable)"
        )

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # NumPy comes here both for `ndarray * t` (Python's operator, which TensorFlow answers
        # with the tensor's own __rmul__: a tensor) and for a direct `np.multiply(a, t)` or
        # `np.sin(t)` (which TensorFlow answers with a NumPy array of the values). The two cannot
        # be told apart, so a binary operator ufunc with a NumPy array or scalar on one side is
        # taken as the operator, everything else as a NumPy call on the values.
        names = _OPERATOR_UFUNCS.get(ufunc)
        if names is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            first, second = inputs
            if isinstance(first, _TensorMethods) and isinstance(second, (np.ndarray, np.generic)):
                return getattr(first, f"__{names[0]}__")(second)
            if isinstance(second, _TensorMethods) and isinstance(first, (np.ndarray, np.generic)):
                return getattr(second, f"__{names[1]}__")(first)
        return getattr(ufunc, method)(*_values(inputs), **_values(kwargs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        # TensorFlow's tensors reach NumPy functions through __array__: the result is a NumPy
        # array computed from the values, outside any tape (the guide's `np.mean(x, axis=0)`).
        return func(*_values(args), **_values(kwargs))

    def __getitem__(self, index: Any) -> Any:
        return wrap(_NativeTensor.__getitem__(self, index))  # type: ignore[index]


# ufunc -> (the operator's method when the tensor is on the left, when it is on the right)
_OPERATOR_UFUNCS: dict[Any, tuple[str, str]] = {
    np.add: ("add", "radd"), np.subtract: ("sub", "rsub"), np.multiply: ("mul", "rmul"),
    np.true_divide: ("truediv", "rtruediv"), np.floor_divide: ("floordiv", "rfloordiv"),
    np.remainder: ("mod", "rmod"), np.power: ("pow", "rpow"), np.matmul: ("matmul", "rmatmul"),
    np.bitwise_and: ("and", "rand"), np.bitwise_or: ("or", "ror"), np.bitwise_xor: ("xor", "rxor"),
    np.equal: ("eq", "eq"), np.not_equal: ("ne", "ne"), np.less: ("lt", "gt"),
    np.less_equal: ("le", "ge"), np.greater: ("gt", "lt"), np.greater_equal: ("ge", "le"),
}  # fmt: skip


def _values(value: Any) -> Any:
    """``value`` with every tensor (at any depth of lists, tuples and dicts) replaced by its array."""
    if isinstance(value, _NativeTensor):
        return _NativeTensor.numpy(value)
    if isinstance(value, list):
        return [_values(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_values(v) for v in value)
    if isinstance(value, dict):
        return {k: _values(v) for k, v in value.items()}
    return value


def _install_operators() -> None:
    def binary(native: Any) -> Any:
        def method(self: Any, other: Any) -> Any:
            return wrap(native(self, operand(other, _NativeTensor._array(self).dtype)))

        return method

    def unary(native: Any) -> Any:
        def method(self: Any) -> Any:
            return wrap(native(self))

        return method

    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
        for form in (f"__{name}__", f"__r{name}__"):
            setattr(_TensorMethods, form, binary(getattr(_NativeTensor, form)))
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(_TensorMethods, f"__{name}__", binary(getattr(_NativeTensor, f"__{name}__")))
    for name in ("neg", "abs", "invert"):
        setattr(_TensorMethods, f"__{name}__", unary(getattr(_NativeTensor, f"__{name}__")))


_install_operators()


class Tensor(_TensorMethods, _NativeTensor):
    """A chainrule tensor in TensorFlow's clothes: it prints, converts and combines as TF's do.

    It is a native ``chainrule.Tensor`` (every native function accepts it); ``print`` shows
    ``tf.Tensor(...)``, an f-string formats the NumPy value. As in TensorFlow, the values are
    instances of the subclass :class:`EagerTensor`: ``isinstance(x, tf.Tensor)`` holds and
    ``type(x).__name__`` is ``'EagerTensor'``.

    >>> from chainrule import tf
    >>> x = tf.constant([24.0, 4.0])
    >>> print(x)
    tf.Tensor([24.  4.], shape=(2,), dtype=float32)
    >>> x
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([24.,  4.], dtype=float32)>
    >>> f"{x}", f"{tf.constant(6.0)}"
    ('[24.  4.]', '6.0')
    >>> isinstance(x, tf.Tensor), type(x).__name__
    (True, 'EagerTensor')
    """

    __slots__ = ()
    __hash__ = _NativeTensor.__hash__

    def __repr__(self) -> str:
        return f"<tf.Tensor: shape={_shape_text(self)}, dtype={self.dtype.name}, numpy={_value_text(self, True)}>"

    def __str__(self) -> str:
        return f"tf.Tensor({_value_text(self, False)}, shape={_shape_text(self)}, dtype={self.dtype.name})"


class EagerTensor(Tensor):
    """The class of every dialect tensor value (TensorFlow's ``EagerTensor``); no added state."""

    __slots__ = ()
    __hash__ = _NativeTensor.__hash__


# ---------------------------------------------------------------- Variable
_local = threading.local()
_live_variables: weakref.WeakValueDictionary[int, Variable] = weakref.WeakValueDictionary()
_order = itertools.count()


def open_tapes() -> list[Any]:
    """The dialect tapes recording in this thread (innermost last)."""
    tapes = getattr(_local, "tapes", None)
    if tapes is None:
        tapes = _local.tapes = []
    return tapes


def live_variables() -> list[Variable]:
    """The dialect Variables alive now, in creation order."""
    return [v for _, v in sorted(_live_variables.items())]


class Variable(_TensorMethods, _NativeVariable):
    """A mutable, named tensor that a ``GradientTape`` watches automatically when trainable.

    Python floats give float32 and ints int32, as in TensorFlow; the name gets TF's ``:0``.
    ``tf.Variable(...)`` builds a :class:`ResourceVariable` (its ``type(v).__name__``), as
    TensorFlow's does.

    >>> from chainrule import tf
    >>> x = tf.Variable([2.0, 3.0])
    >>> print(x)
    <tf.Variable 'Variable:0' shape=(2,) dtype=float32, numpy=array([2., 3.], dtype=float32)>
    >>> tf.Variable(1.0, name="b").assign_add(0.5).numpy()
    np.float32(1.5)
    >>> isinstance(x, tf.Variable), type(x).__name__
    (True, 'ResourceVariable')
    """

    __slots__ = ()
    __hash__ = _NativeVariable.__hash__

    def __new__(cls, *args: Any, **kwargs: Any) -> Variable:
        return _NativeVariable.__new__(ResourceVariable if cls is Variable else cls)

    def __init__(self, initial_value: Any = None, trainable: Any = None, validate_shape: Any = True,
                 caching_device: Any = None, name: str | None = None, dtype: Any = None,
                 shape: Any = None, **kwargs: Any) -> None:  # fmt: skip
        if initial_value is None:
            raise ValueError("tf.Variable: initial_value must be given")
        if callable(initial_value) and not isinstance(initial_value, _NativeTensor):
            initial_value = initial_value()
        want = _np_dtype(dtype)
        if isinstance(initial_value, _NativeTensor):
            arr = np.array(_NativeTensor.numpy(initial_value))
            arr = arr if want is None else _to_dtype(arr, want, initial_value)
        else:
            arr = _infer_array(initial_value) if want is None else _to_dtype(np.asarray(initial_value), want, initial_value)
        if shape is not None and tuple(shape) != arr.shape and None not in tuple(shape):
            raise ValueError(f"tf.Variable: initial value has shape {arr.shape}, not the given shape {tuple(shape)}")
        label = "Variable" if name is None else str(name)
        if not label.endswith(":0"):
            label += ":0"
        super().__init__(arr, trainable=True if trainable is None else _builtin_bool(trainable), name=label)
        _live_variables[next(_order)] = self
        for tape in open_tapes():
            tape._dialect_on_new_variable(self)

    def assign(self, value: Any, use_locking: Any = None, name: Any = None, read_value: Any = True) -> Variable:
        """Replace the values (same shape) in place; returns the variable."""
        return super().assign(_plain_values(value, self))

    def assign_add(self, delta: Any, use_locking: Any = None, name: Any = None, read_value: Any = True) -> Variable:
        """Add ``delta`` in place; returns the variable."""
        return super().assign_add(_plain_values(delta, self))

    def assign_sub(self, delta: Any, use_locking: Any = None, name: Any = None, read_value: Any = True) -> Variable:
        """Subtract ``delta`` in place; returns the variable."""
        return super().assign_sub(_plain_values(delta, self))

    def read_value(self) -> Tensor:
        """The current values as a new tensor."""
        return wrap(super().read_value())

    value = read_value

    def __repr__(self) -> str:
        return (
            f"<tf.Variable '{self.name}' shape={_shape_text(self)} dtype={self.dtype.name}, "
            f"numpy={_value_text(self, True)}>"
        )

    __str__ = __repr__


class ResourceVariable(Variable):
    """The class of the variables ``tf.Variable(...)`` builds (TensorFlow's name); no added state."""

    __slots__ = ()
    __hash__ = _NativeVariable.__hash__


def _plain_values(value: Any, var: Variable) -> Any:
    if isinstance(value, _NativeTensor):
        return value
    return _to_dtype(np.asarray(value), var.dtype, value)
