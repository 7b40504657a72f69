"""``tf.function`` and ``tf.TensorSpec``: the function is traced into a program by ``cr.jit``
(the first call for a new signature traces, later calls replay), and an ``input_signature``
converts and checks the arguments as TensorFlow's does.

As in TensorFlow, Python side effects (``print``) run while tracing only, ``tf.print`` runs at
every call, a new shape or dtype of a tensor argument or a new Python value retraces, and Python
control flow on a tensor cannot be traced (use ``tf.cond``/``tf.where``; there is no autograph).
chainrule traces each concrete shape: a ``None`` in an ``input_signature`` accepts any size but
still traces once per size. ``jit_compile`` and ``reduce_retracing`` are accepted and change
nothing. ``Variable.assign``/``assign_add``/``assign_sub`` and a Keras optimizer's
``apply_gradients`` inside the function update the variables at every call, as in TensorFlow.

>>> from chainrule import tf
>>> @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
... def double(x):
...     return x * 2
>>> double(3.0)
<tf.Tensor: shape=(), dtype=float32, numpy=6.0>
>>> try:
...     double(tf.constant(3))
... except TypeError as error:
...     print(error)
Binding inputs to tf.function failed: the argument x is a int32 tensor but its TensorSpec wants float32
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule.tf._tensor import DType, TensorShape, as_dtype, convert_to_tensor, float32, wrap_tree

__all__ = ["TensorSpec", "function", "Function", "print_"]


class TensorSpec:
    """The shape and dtype a tensor argument must have (``None`` in the shape: any size).

    >>> from chainrule import tf
    >>> tf.TensorSpec(None)
    TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)
    >>> tf.TensorSpec([2, None], tf.int32, name="x").is_compatible_with(tf.constant([[1], [2]]))
    True
    """

    def __init__(self, shape: Any, dtype: Any = float32, name: str | None = None) -> None:
        self.shape = None if shape is None else tuple(None if s is None else int(s) for s in shape)
        self.dtype: DType = as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, value: Any) -> bool:
        """Whether ``value`` (a tensor or a TensorSpec) has this dtype and a fitting shape."""
        shape = value.shape
        if as_dtype(value.dtype) != self.dtype:
            return False
        if self.shape is None or shape is None:
            return True
        shape = tuple(shape)
        return len(shape) == len(self.shape) and all(a is None or b is None or a == b for a, b in zip(self.shape, shape))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (other.shape, other.dtype, other.name)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else repr(self.shape)
        return f"TensorSpec(shape={shape}, dtype={self.dtype!r}, name={self.name!r})"


class Function:
    """What ``tf.function`` returns: calls the Python function eagerly; with an
    ``input_signature``, each tensor argument is converted to its spec's dtype and checked
    against its shape first (a mismatch raises ``TypeError``, as in TensorFlow)."""

    def __init__(self, func: Callable[..., Any], input_signature: Any = None) -> None:
        self.python_function = func
        self.input_signature = None if input_signature is None else tuple(input_signature)
        if self.input_signature is not None:
            for spec in self.input_signature:
                if not isinstance(spec, TensorSpec):
                    raise TypeError(
                        f"tf.function: input_signature must hold tf.TensorSpec objects, got {spec!r} "
                        "(nested signatures are not supported by the chainrule TensorFlow dialect)"
                    )
        functools.update_wrapper(self, func)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        # A method: the signature describes the arguments after `self`.
        return Function(self.python_function.__get__(instance, owner), self.input_signature)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.input_signature is not None:
            args, kwargs = self._convert(args, kwargs)
        return wrap_tree(self._jitted(*args, **kwargs))

    @property
    def _jitted(self) -> Any:
        jitted = self.__dict__.get("_jit")
        if jitted is None:
            jitted = self.__dict__["_jit"] = cr.jit(self.python_function)
        return jitted

    def experimental_get_tracing_count(self) -> int:
        """How many times the function was traced (one per new signature)."""
        return self._jitted.cache_size()

    def _convert(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        specs = self.input_signature or ()
        if len(args) > len(specs):
            raise TypeError(
                f"Binding inputs to tf.function failed: the input_signature describes {len(specs)} "
                f"argument(s), the call gives {len(args)} positional ones"
            )
        positional = [
            p.name for p in inspect.signature(self.python_function).parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]  # fmt: skip
        converted = list(args)
        kwargs = dict(kwargs)
        for i, spec in enumerate(specs):
            name = positional[i] if i < len(positional) else f"#{i}"
            if i < len(converted):
                converted[i] = _conform(converted[i], spec, name)
            elif name in kwargs:
                kwargs[name] = _conform(kwargs[name], spec, name)
        return tuple(converted), kwargs

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> Any:
        """The traced program for these arguments (``cr.jit``'s ``Lowered``: ``.as_text()``)."""
        if not args and not kwargs:
            raise NotImplementedError(
                "tf.function(...).get_concrete_function needs example arguments in the chainrule "
                "TensorFlow dialect: it traces concrete shapes, so a TensorSpec with None sizes "
                "does not describe one program; pass tensors of the shapes you will call it with"
            )
        if self.input_signature is not None:
            args, kwargs = self._convert(args, kwargs)
        return self._jitted.lower(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<tf.function {getattr(self.python_function, '__qualname__', self.python_function)!r}>"


def _conform(value: Any, spec: TensorSpec, name: str) -> Any:
    if isinstance(value, cr.Tensor):
        if value.dtype != spec.dtype.dtype:
            raise TypeError(
                f"Binding inputs to tf.function failed: the argument {name} is a {value.dtype.name} "
                f"tensor but its TensorSpec wants {spec.dtype.name}"
            )
        tensor = convert_to_tensor(value)
    else:
        try:
            tensor = convert_to_tensor(value, dtype=spec.dtype)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Binding inputs to tf.function failed: the argument {name}: {error}") from None
    if not spec.is_compatible_with(tensor):
        raise TypeError(
            f"Binding inputs to tf.function failed: the argument {name} has shape "
            f"{TensorShape(tensor.shape)} but its TensorSpec wants {spec.shape}"
        )
    return tensor


def function(func: Callable[..., Any] | None = None, input_signature: Any = None, autograph: bool = True,
             jit_compile: Any = None, reduce_retracing: bool = False, **kwargs: Any) -> Any:  # fmt: skip
    """``tf.function``: traces the function once per signature (``cr.jit``) and replays the
    program; an ``input_signature`` of ``tf.TensorSpec`` converts and checks the arguments.
    ``print`` runs while tracing, ``tf.print`` at every call.

    >>> import sys
    >>> from chainrule import tf
    >>> @tf.function(jit_compile=True)
    ... def f(x):
    ...     print("tracing")
    ...     tf.print("x:", x, output_stream=sys.stdout)
    ...     return x * 2
    >>> f(tf.constant(2.0)).numpy()
    tracing
    x: 2
    np.float32(4.0)
    >>> f(tf.constant(3.0)).numpy()
    x: 3
    np.float32(6.0)
    >>> f.experimental_get_tracing_count()
    1
    """
    if func is None:
        return lambda f: Function(f, input_signature)
    return Function(func, input_signature)



def print_(*inputs: Any, output_stream: Any = None, summarize: int = 3, sep: str = " ", end: str = "\n",
           name: Any = None) -> None:  # fmt: skip
    """``tf.print``: prints its inputs when the program runs, at every call of a ``tf.function``
    (Python's ``print`` runs only while tracing). Tensors print as TensorFlow's do (``[1 2 3]``,
    at most ``summarize`` items at each end of an axis); ``output_stream`` defaults to stderr.

    >>> import sys
    >>> from chainrule import tf
    >>> tf.print("value:", tf.constant([1.0, 2.5]), output_stream=sys.stdout)
    value: [1 2.5]
    """
    stream = output_stream

    def emit(*arrays: Any) -> None:
        it = iter(arrays)
        parts = [_format(next(it), summarize) if isinstance(x, cr.Tensor) else str(x) for x in inputs]
        out = sys.stderr if stream is None else stream
        out.write(sep.join(parts) + end)

    cr.transforms.callback(emit, *[x for x in inputs if isinstance(x, cr.Tensor)])


def _format(a: Any, summarize: int) -> str:
    import numpy as np

    arr = np.asarray(a)

    def item(v: Any) -> str:
        text = repr(v.item()) if arr.dtype.kind == "f" else str(v)
        return text[:-2] if text.endswith(".0") else text

    if arr.ndim == 0:
        return item(arr)
    return np.array2string(arr, separator=" ", formatter={"all": item}, threshold=2 * summarize,
                           edgeitems=summarize).replace("\n ", "\n")  # fmt: skip
