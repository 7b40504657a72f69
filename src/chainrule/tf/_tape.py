"""GradientTape, ForwardAccumulator, stop_gradient and custom_gradient for the dialect.

The tape *is* the native ``chainrule.GradientTape`` (same recording, same sweep); the dialect
only re-classes what it returns so that it prints as TensorFlow's, and makes sure its
Variables are watched as TensorFlow watches them (see :func:`native_watches_variable_subclasses`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._tensor import (
    Tensor,
    Variable,
    live_variables,
    open_tapes,
    to_tensor,
    wrap,
    wrap_tree,
)  # fmt: skip

__all__ = [
    "GradientTape", "ForwardAccumulator", "UnconnectedGradients", "stop_gradient",
    "custom_gradient", "native_watches_variable_subclasses",
]  # fmt: skip

UnconnectedGradients = cr.UnconnectedGradients

#: TensorFlow's words for a second ``gradient``/``jacobian`` call on a non-persistent tape.
NON_PERSISTENT_MESSAGE = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)


def native_watches_variable_subclasses() -> bool:
    """Whether a native tape watches a trainable *subclass* of ``chainrule.Variable`` on access.

    When it does not, dialect tapes watch every live trainable dialect Variable when they open
    (and each one created while they record) instead, which gives the same gradients.
    """

    class _Probe(cr.Variable):
        __slots__ = ()

    probe = _Probe(1.0)
    with cr.GradientTape() as tape:
        y = probe * 2.0
    return tape.gradient(y, probe) is not None


_NATIVE_AUTOWATCH = native_watches_variable_subclasses()


class GradientTape(cr.GradientTape):
    """Records operations on watched values to compute gradients later: ``tf.GradientTape``.

    Trainable Variables are watched automatically (unless ``watch_accessed_variables=False``),
    constants only when passed to ``watch``. A non-persistent tape answers one ``gradient`` or
    ``jacobian`` call; a second raises ``RuntimeError`` as TensorFlow's does.

    >>> from chainrule import tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x ** 2
    >>> tape.gradient(y, x)
    <tf.Tensor: shape=(), dtype=float32, numpy=6.0>
    >>> try:
    ...     tape.gradient(y, x)
    ... except RuntimeError as error:
    ...     print(error)
    A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        super().__init__(persistent=persistent, watch_accessed_variables=watch_accessed_variables)
        self._dialect_autowatch = bool(watch_accessed_variables) and not _NATIVE_AUTOWATCH
        self._dialect_watched: dict[int, Variable] = {}
        self._dialect_recording = False
        self._dialect_persistent = bool(persistent)
        self._dialect_used = False

    def __enter__(self) -> GradientTape:
        super().__enter__()
        self._dialect_recording = True
        if self._dialect_autowatch:
            open_tapes().append(self)
            for v in live_variables():
                self._dialect_on_new_variable(v)
        return self

    def __exit__(self, *exc: object) -> None:
        self._dialect_recording = False
        tapes = open_tapes()
        if self in tapes:
            tapes.remove(self)
        super().__exit__(*exc)

    def _dialect_on_new_variable(self, v: Variable) -> None:
        if v.trainable and v.dtype.kind == "f":
            self.watch(v)

    def watch(self, tensor: Any) -> None:
        """Track ``tensor`` (or each tensor of a list/tuple/dict) from now on.

        >>> from chainrule import tf
        >>> x = tf.constant(5.0)
        >>> with tf.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x ** 3
        >>> print(tape.gradient(y, x).numpy())
        75.0
        """
        super().watch(tensor)
        for t in cr.transforms.tree_flatten(tensor)[0]:
            if isinstance(t, Variable) and t.dtype.kind == "f":
                self._dialect_watched[id(t)] = t

    def watched_variables(self) -> tuple[Any, ...]:
        """The Variables this tape watches, in the order they were created."""
        found = {id(v): v for v in super().watched_variables()}
        found.update(self._dialect_watched)
        rank = {id(v): i for i, v in enumerate(live_variables())}
        return tuple(sorted(found.values(), key=lambda v: rank.get(id(v), -1)))

    def reset(self) -> None:
        """Forget everything recorded and watched (recording goes on inside the ``with`` block)."""
        super().reset()
        self._dialect_used = False
        self._dialect_watched = {}
        if self._dialect_autowatch and self._dialect_recording:
            for v in live_variables():
                self._dialect_on_new_variable(v)

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: Any = UnconnectedGradients.NONE) -> Any:  # fmt: skip
        """The gradient of ``target`` (summed if not scalar) with respect to ``sources``.

        >>> from chainrule import tf
        >>> x = tf.Variable([1.0, 2.0])
        >>> with tf.GradientTape() as tape:
        ...     y = tf.reduce_sum([2.0, 3.0] * x ** 2)
        >>> print(tape.gradient(y, x))
        tf.Tensor([ 4. 12.], shape=(2,), dtype=float32)
        """
        self._dialect_check_usable()
        result = super().gradient(target, sources, output_gradients, unconnected_gradients)
        self._dialect_used = not self._dialect_persistent
        return wrap_tree(result)

    def jacobian(self, target: Any, sources: Any, unconnected_gradients: Any = UnconnectedGradients.NONE,
                 parallel_iterations: Any = None, experimental_use_pfor: bool = True) -> Any:  # fmt: skip
        """The Jacobian of ``target``: shape ``target.shape + source.shape`` per source.

        >>> from chainrule import tf
        >>> x = tf.Variable([1.0, 2.0])
        >>> with tf.GradientTape() as tape:
        ...     y = x * x
        >>> print(tape.jacobian(y, x))
        tf.Tensor(
        [[2. 0.]
         [0. 4.]], shape=(2, 2), dtype=float32)
        """
        self._dialect_check_usable()
        result = super().jacobian(target, sources, unconnected_gradients, parallel_iterations, experimental_use_pfor)
        self._dialect_used = not self._dialect_persistent
        return wrap_tree(result)

    def batch_jacobian(self, target: Any, source: Any, unconnected_gradients: Any = UnconnectedGradients.NONE,
                       parallel_iterations: Any = None, experimental_use_pfor: bool = True) -> Any:  # fmt: skip
        """Per-example Jacobians: shape ``(batch,) + target.shape[1:] + source.shape[1:]``.

        >>> from chainrule import tf
        >>> x = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
        >>> with tf.GradientTape() as tape:
        ...     y = x * x
        >>> tape.batch_jacobian(y, x).shape
        TensorShape([2, 2, 2])
        """
        self._dialect_check_usable()
        result = super().batch_jacobian(target, source, unconnected_gradients, parallel_iterations,
                                        experimental_use_pfor)  # fmt: skip
        self._dialect_used = not self._dialect_persistent
        return wrap_tree(result)

    def _dialect_check_usable(self) -> None:
        # TensorFlow's exact words (the native tape adds a hint on how to fix it).
        if self._dialect_used:
            raise RuntimeError(NON_PERSISTENT_MESSAGE)


class ForwardAccumulator(cr.ForwardAccumulator):
    """Forward-mode derivatives: ``tf.autodiff.ForwardAccumulator(primals, tangents)``.

    >>> from chainrule import tf
    >>> x = tf.Variable(2.0)
    >>> with tf.autodiff.ForwardAccumulator(x, tf.constant(1.0)) as acc:
    ...     y = x ** 3
    >>> acc.jvp(y)
    <tf.Tensor: shape=(), dtype=float32, numpy=12.0>
    """

    def jvp(self, primals: Any, unconnected_gradients: Any = UnconnectedGradients.NONE) -> Any:
        """The tangent of each of ``primals`` (``None`` when unconnected)."""
        return wrap_tree(super().jvp(primals, unconnected_gradients))


def stop_gradient(input: Any, name: Any = None) -> Tensor:  # noqa: A002 - TensorFlow's name
    """The same values with no derivative flowing through, in reverse or forward mode.

    A copy of the values: ``detach()`` would share the array, and forward-mode tangents are
    looked up by array, so a shared array would carry the tangent along.

    >>> from chainrule import tf
    >>> x = tf.Variable(2.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x * tf.stop_gradient(x)
    >>> tape.gradient(y, x).numpy()
    np.float32(2.0)
    """
    t = to_tensor(input)
    return wrap(cr.constant(cr.Tensor.numpy(t)))


def custom_gradient(f: Callable[..., Any] | None = None) -> Any:
    """Decorate ``f(*x) -> (y, grad_fn)`` so that the gradient of ``y`` is ``grad_fn(dy)``.

    ``y`` is computed without recording; ``grad_fn(*dys)`` returns one gradient per tensor
    argument (a single tensor when there is one). Built from native public pieces: each tracked
    input passes through a recorded identity whose hook swaps the zero cotangent it receives
    for ``grad_fn``'s answer (see docs/dialects/tf.md). Variables that ``f`` reads but does not
    take as arguments get no gradient.

    >>> from chainrule import tf
    >>> @tf.custom_gradient
    ... def clip_grad(x):
    ...     def grad_fn(dy):
    ...         return tf.clip_by_value(dy, -0.5, 0.5)
    ...     return tf.identity(x), grad_fn
    >>> x = tf.Variable([1.0, 2.0])
    >>> with tf.GradientTape() as tape:
    ...     y = tf.reduce_sum(clip_grad(x) * [3.0, -0.1])
    >>> print(tape.gradient(y, x))
    tf.Tensor([ 0.5 -0.1], shape=(2,), dtype=float32)
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        inputs = [to_tensor(a) for a in args]
        with cr.no_grad():
            result, grad_fn = f(*inputs, **kwargs)
        many = isinstance(result, (list, tuple))
        outputs = [to_tensor(r) for r in (result if many else [result])]
        tracked, links = [], []
        for i, x in enumerate(inputs):
            if x.dtype.kind == "f":
                z = wrap(x * 1)  # recorded only when x is tracked (watched, or requires grad)
                if z.grad_fn is not None:
                    tracked.append(i)
                    links.append(z)
        if not tracked:
            return wrap_tree(type(result)(outputs) if many else outputs[0])
        joined = cr.sum(links[0])
        for z in links[1:]:
            joined = cr.add(joined, cr.sum(z))
        # Exactly 0 whatever the inputs hold (inf included), yet connected to every input.
        link = cr.where(np.array(False), joined, np.zeros((), dtype=joined.dtype))
        sweep: dict[str, Any] = {"dys": [None] * len(outputs), "grads": None}
        finals = []
        for k, y in enumerate(outputs):
            out = wrap(y + cr.astype(link, y.dtype))
            out.register_hook(_capture(sweep, k))
            finals.append(out)
        takes_variables = "variables" in inspect.signature(grad_fn).parameters
        for slot, (i, z) in enumerate(zip(tracked, links)):
            z.register_hook(_answer(sweep, slot, i, len(inputs), outputs, grad_fn, takes_variables))
        return type(result)(finals) if many else finals[0]

    return decorated


def _capture(sweep: dict[str, Any], k: int) -> Callable[[Any], None]:
    def hook(dy: Any) -> None:
        if sweep["grads"] is not None:  # a new backward sweep: forget the last one's answer
            sweep["grads"] = None
            sweep["dys"] = [None] * len(sweep["dys"])
        sweep["dys"][k] = wrap(cr.reshape(dy, tuple(dy.shape)))

    return hook


def _answer(sweep: dict[str, Any], slot: int, index: int, count: int, outputs: list[Any],
            grad_fn: Callable[..., Any], takes_variables: bool) -> Callable[[Any], Any]:  # fmt: skip
    def hook(g: Any) -> Any:
        if sweep["grads"] is None:
            dys = [dy if dy is not None else wrap(cr.zeros_like(y)) for dy, y in zip(sweep["dys"], outputs)]
            answer = grad_fn(*dys, variables=[]) if takes_variables else grad_fn(*dys)
            if takes_variables and isinstance(answer, tuple) and len(answer) == 2:
                answer = answer[0]
            grads = list(answer) if isinstance(answer, (list, tuple)) else [answer]
            if len(grads) != count:
                raise ValueError(
                    f"custom_gradient: grad_fn returned {len(grads)} gradient(s) for {count} input(s)"
                )
            sweep["grads"] = grads
        grad = sweep["grads"][index]
        if grad is None:
            return None
        return grad if isinstance(grad, cr.Tensor) else to_tensor(grad)

    return hook
