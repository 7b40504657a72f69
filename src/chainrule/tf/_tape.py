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
    "custom_gradient", "recompute_grad", "native_watches_variable_subclasses",
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
    """Decorate ``f(*x) -> (y, grad_fn)`` so that the gradient of ``y`` is ``grad_fn(*dy)``.

    A name map over ``chainrule.custom_vjp``: ``f`` is its forward (its ``grad_fn`` the
    residual), ``grad_fn`` its backward. ``grad_fn(*upstream)`` gets one upstream gradient per
    output and returns one gradient per argument (a single tensor when there is one). When ``f``
    reads Variables being differentiated that are not its arguments, ``grad_fn`` must take
    ``variables=`` and return ``(input_gradients, variable_gradients)``, as in TensorFlow.
    Higher derivatives differentiate ``grad_fn``; forward mode (``ForwardAccumulator``) raises
    ``TypeError`` (TensorFlow transposes ``grad_fn`` there).

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
        name = getattr(f, "__name__", "custom_gradient")

        def forward(*xs: Any) -> Any:
            result = f(*xs, **kwargs)
            if not isinstance(result, (tuple, list)) or len(result) != 2 or not callable(result[1]):
                raise TypeError(
                    f"custom_gradient: {name} must return a pair (output, grad_fn), got "
                    f"{type(result).__name__}"
                )
            y, grad_fn = result
            return _outputs(y), grad_fn

        def backward(grad_fn: Callable[..., Any], upstream: Any, variables: list[Any]) -> Any:
            dys = [wrap(dy) for dy in upstream] if isinstance(upstream, (tuple, list)) else [wrap(upstream)]
            takes_variables = "variables" in inspect.signature(grad_fn).parameters
            if variables and not takes_variables:
                raise TypeError(
                    "If using @custom_gradient with a function that uses variables, then grad_fn "
                    "must accept a keyword argument 'variables'."
                )
            if takes_variables:
                answer = grad_fn(*dys, variables=list(variables))
                if not isinstance(answer, (tuple, list)) or len(answer) != 2:
                    raise TypeError(
                        f"custom_gradient: {name}'s grad_fn takes variables=, so it must return "
                        "(input_gradients, variable_gradients)"
                    )
                grads, var_grads = answer
                var_grads = list(var_grads or [None] * len(variables))
            else:
                grads, var_grads = grad_fn(*dys), []
            grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
            if len(grads) != len(inputs):
                raise ValueError(
                    f"custom_gradient: {name}'s grad_fn returned {len(grads)} gradient(s) for "
                    f"{len(inputs)} input(s)"
                )
            if len(var_grads) != len(variables):
                raise ValueError(
                    f"custom_gradient: {name}'s grad_fn returned {len(var_grads)} variable "
                    f"gradient(s) for {len(variables)} variable(s)"
                )
            return (tuple(_like(g, x) for g, x in zip(grads, inputs)),
                    [_like(g, v) for g, v in zip(var_grads, variables)])  # fmt: skip

        def plain(*xs: Any) -> Any:
            return forward(*xs)[0]

        plain.__name__ = name
        op = cr.custom_vjp(plain, closed_over=True)
        op.defvjp(forward, backward)
        return wrap_tree(op(*inputs))

    return decorated


def _outputs(y: Any) -> Any:
    if isinstance(y, (tuple, list)):
        return type(y)(to_tensor(v) for v in y)
    return to_tensor(y)


def _like(g: Any, x: Any) -> Any:
    """A gradient as a tensor of its input's dtype (TensorFlow's float32 meets NumPy's float64)."""
    if g is None:
        return None
    t = to_tensor(g)
    if t.dtype != x.dtype and t.dtype.kind == "f" and x.dtype.kind == "f":
        t = wrap(cr.astype(t, x.dtype))
    return t


def recompute_grad(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` with its intermediate values recomputed in the backward pass instead of kept: a name
    for ``chainrule.checkpoint``. Variables ``f`` reads (a Keras layer's weights) get their
    gradients as usual.

    >>> from chainrule import tf
    >>> dense = tf.keras.layers.Dense(2, kernel_initializer="ones")
    >>> x = tf.constant([[1.0, 2.0]])
    >>> with tf.GradientTape() as tape:
    ...     y = tf.reduce_sum(tf.recompute_grad(dense)(x) ** 2)
    >>> print(tape.gradient(y, dense.kernel))
    tf.Tensor(
    [[ 6.  6.]
     [12. 12.]], shape=(2, 2), dtype=float32)
    """
    checkpointed = cr.checkpoint(f)

    @functools.wraps(f)
    def recomputed(*args: Any, **kwargs: Any) -> Any:
        return wrap_tree(checkpointed(*args, **kwargs))

    return recomputed
