"""TensorFlow-style differentiation: ``Variable``, ``constant`` and ``GradientTape``.

A tape is a recording scope on the one engine. While it is open (``with GradientTape() as
tape:``) ``bind`` asks it, for every op, whether it tracks an input: a tensor it watches, a
trainable Variable it sees (watched automatically unless ``watch_accessed_variables=False``), or
a value an op it recorded produced. Recorded nodes are kept in the tape; ``tape.gradient`` runs
the engine's ``backprop`` restricted to them. A tape opened around another records the inner
tape's backward pass, which gives higher derivatives, as in TensorFlow. Tapes live in the
thread-local recording state: two threads never see each other's records.

>>> import chainrule as cr
>>> x = cr.Variable(3.0)
>>> with cr.GradientTape() as tape:
...     y = x ** 2
>>> tape.gradient(y, x)
tensor(6., dtype=float64)
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind, record
from chainrule.core.engine import backprop
from chainrule.core.modes import state
from chainrule.core.node import Node
from chainrule.core.primitive import registry
from chainrule.core.stack import (
    Interpreter,
    bind_below,
    current,
    needs_tensor_rules,
    pop,
    push,
    set_stack,
)
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.batching import (
    BatchedTensor,
    batching_active,
    below,
    from_base_world,
    pop_level,
    push_level,
    remove_level,
    to_base_world,
)
from chainrule.transforms.forward import ForwardAccumulator, UnconnectedGradients, _unconnected
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["Variable", "constant", "GradientTape", "UnconnectedGradients", "ForwardAccumulator"]

_uids = itertools.count()

NON_PERSISTENT_MESSAGE = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or "
    "jacobians). Create the tape with GradientTape(persistent=True) to call gradient() or "
    "jacobian() several times."
)


_plain = wrap_array


# ---------------------------------------------------------------- Variable and constant
#: ``hook(variable, value, op)`` runs before ``assign``/``assign_add``/``assign_sub``; one that
#: returns True has made the write itself (``cr.jit`` records it into the program it traces).
VARIABLE_WRITE_HOOKS: list[Any] = []


class Variable(Tensor):
    """A named, mutable tensor that tapes watch automatically when ``trainable``.

    Arithmetic on a Variable gives plain tensors. ``assign``, ``assign_add`` and ``assign_sub``
    change its values in place (and return it).

    >>> import chainrule as cr
    >>> w = cr.Variable([1.0, 2.0], name="w")
    >>> w.assign_sub([0.5, 0.5]).numpy()
    array([0.5, 1.5])
    >>> type(w + 1.0).__name__
    'Tensor'
    """

    __slots__ = ("name", "trainable", "_uid")

    def __init__(self, initial_value: Any, trainable: bool = True, name: str | None = None,
                 dtype: Any = None) -> None:  # fmt: skip
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()
        if isinstance(initial_value, Tensor):
            initial_value = initial_value._data
        data = np.array(initial_value, dtype=dtype)
        if data.dtype.kind not in "fiub":
            raise TypeError(f"Variable: unsupported dtype {data.dtype}; use float32/float64, an integer type or bool")
        super().__init__(data)
        self.name = "Variable" if name is None else str(name)
        self.trainable = bool(trainable)
        self._uid = next(_uids)

    def _write(self, value: Any, op: str) -> Variable:
        data = value._data if isinstance(value, Tensor) else np.asarray(value)
        try:
            fits = np.broadcast_shapes(data.shape, self._data.shape) == self._data.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"Variable.{op}: a value of shape {data.shape} does not fit the variable "
                f"'{self.name}' of shape {self._data.shape}"
            )
        try:
            np.copyto(self._data, data, casting="same_kind")
        except TypeError:
            raise TypeError(
                f"Variable.{op}: cannot write {data.dtype} values into the {self._data.dtype} "
                f"variable '{self.name}'"
            ) from None
        self._version += 1
        return self

    def assign(self, value: Any) -> Variable:
        """Replace the values (same shape) in place; returns the variable."""
        if VARIABLE_WRITE_HOOKS and any(hook(self, value, "assign") for hook in VARIABLE_WRITE_HOOKS):
            return self
        return self._write(value, "assign")

    def assign_add(self, delta: Any) -> Variable:
        """Add ``delta`` in place; returns the variable."""
        if VARIABLE_WRITE_HOOKS and any(hook(self, delta, "assign_add") for hook in VARIABLE_WRITE_HOOKS):
            return self
        d = delta._data if isinstance(delta, Tensor) else np.asarray(delta)
        return self._write(self._data + d, "assign_add")

    def assign_sub(self, delta: Any) -> Variable:
        """Subtract ``delta`` in place; returns the variable."""
        if VARIABLE_WRITE_HOOKS and any(hook(self, delta, "assign_sub") for hook in VARIABLE_WRITE_HOOKS):
            return self
        d = delta._data if isinstance(delta, Tensor) else np.asarray(delta)
        return self._write(self._data - d, "assign_sub")

    def read_value(self) -> Tensor:
        """The current values as a new constant tensor."""
        return _plain(self._data.copy())

    value = read_value

    def numpy(self) -> np.ndarray:
        """A copy of the values as a NumPy array (later assignments do not change it)."""
        return self._data.copy()

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="numpy=array(")
        return (
            f"<Variable '{self.name}' shape={self._data.shape} dtype={self._data.dtype}, "
            f"numpy=array({body})>"
        )

    __str__ = __repr__


def constant(value: Any, dtype: Any = None, shape: Any = None) -> Tensor:
    """A tensor that tapes do not watch unless told to (``tape.watch``).

    >>> import chainrule as cr
    >>> cr.constant([1, 2], dtype="float64")
    tensor([1., 2.], dtype=float64)
    >>> cr.constant(0.5, shape=(2,))
    tensor([0.5, 0.5], dtype=float64)
    """
    if isinstance(value, Tensor):
        value = value._data
    data = np.array(value, dtype=dtype)
    if data.dtype.kind not in "fiub":
        raise TypeError(f"constant: unsupported dtype {data.dtype}")
    if shape is not None:
        target = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if data.size == 1:
            data = np.full(target, data.reshape(()), dtype=data.dtype)
        elif data.size == int(np.prod(target)):
            data = data.reshape(target)
        else:
            raise ValueError(f"constant: {data.size} values do not fill the shape {target}")
    return _plain(data)


# ---------------------------------------------------------------- GradientTape
def _base_of(t: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    if isinstance(t, BatchedTensor):
        return t._base, t._levels
    return t, ()


class GradientTape(Interpreter):
    """Records the operations on watched values so that gradients can be computed later.

    ``persistent=False`` (the default) frees the records after the first ``gradient`` or
    ``jacobian`` call; ``watch_accessed_variables=False`` watches only what ``watch`` names.

    >>> import chainrule as cr
    >>> x = cr.Variable(3.0)
    >>> with cr.GradientTape() as outer:
    ...     with cr.GradientTape() as inner:
    ...         y = x ** 3
    ...     dy = inner.gradient(y, x)
    >>> float(dy), float(outer.gradient(dy, x))
    (27.0, 18.0)
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._nodes: set[Node] = set()
        # Nodes outside the tape that produced a tensor the tape was told to watch: the sweep
        # stops there, and reports the cotangent of that tensor.
        self._boundary: set[Node] = set()
        self._watched: dict[int, Tensor] = {}
        self._recording = False
        self._used = False

    # ------------------------------------------------------------ the recording scope
    def __enter__(self) -> GradientTape:
        self._push()
        return self

    def __exit__(self, *exc: object) -> None:
        self._pop()

    def _push(self) -> None:
        if self._recording:
            raise ValueError("GradientTape: this tape is already recording")
        self._recording = True
        push(self)

    def _pop(self) -> None:
        self._recording = False
        pop(self)

    def stop_recording(self) -> _StopRecording:
        """A context in which this tape records nothing (for example, to call ``gradient``).

        >>> import chainrule as cr
        >>> x = cr.Variable(3.0)
        >>> with cr.GradientTape() as tape:
        ...     y = x ** 3
        ...     with tape.stop_recording():
        ...         float(tape.gradient(y, x))
        27.0
        """
        if not self._recording:
            raise ValueError("GradientTape.stop_recording: the tape is not recording (use it inside the `with` block)")
        return _StopRecording(self)

    # ------------------------------------------------------------ the interpreter
    def process_primitive(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Run the op one level down, then record it if it reads a value this tape follows."""
        out = bind_below(self, prim, args, params)
        if (isinstance(out, Tensor) and state.grad_enabled and prim.differentiable
                and out._data.dtype.kind == "f" and self._tracks_any(args)):  # fmt: skip
            self._add_node(record(prim, args, params, out, self._is_watched))
        return out

    def tracks(self, t: Any) -> bool:
        node = t._node
        if node is not None and (node in self._nodes or node in self._boundary):
            return True
        if self._is_watched(t):
            return True
        # A trainable Variable is watched the moment an op reads it.
        return self._watch_accessed and isinstance(t, Variable) and t.trainable and t._data.dtype.kind == "f"

    def _tracks_any(self, args: tuple[Any, ...]) -> bool:
        found = False
        nodes = self._nodes
        watched = self._watched
        for a in args:
            if not isinstance(a, Tensor):
                continue
            node = a._node
            if node is not None and (node in nodes or node in self._boundary):
                found = True
            elif watched.get(id(a)) is a:
                found = True
            elif self._watch_accessed and isinstance(a, Variable) and a.trainable and a._data.dtype.kind == "f":
                watched[id(a)] = a
                found = True
        return found

    def _is_watched(self, a: Tensor) -> bool:
        return self._watched.get(id(a)) is a

    def _add_node(self, node: Node) -> None:
        if node not in self._nodes:
            self._nodes.add(node)
            node.tape_refs += 1

    # ------------------------------------------------------------ watching
    def watch(self, tensor: Any) -> None:
        """Track ``tensor`` (or every tensor in a list/tuple/dict of them) from now on."""
        for t in flatten(tensor)[0]:
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"GradientTape.watch: expected a tensor or Variable, got {type(t).__name__}; "
                    "create it with chainrule.constant or chainrule.Variable"
                )
            base, _ = _base_of(t)
            if base._data.dtype.kind != "f":
                warnings.warn(
                    f"GradientTape.watch: a tensor of dtype {base.dtype} cannot have a gradient; "
                    "it is not watched", stacklevel=2,
                )  # fmt: skip
                continue
            self._watched[id(base)] = base
            if base._node is not None and base._node not in self._nodes:
                self._boundary.add(base._node)

    def watched_variables(self) -> tuple[Variable, ...]:
        """The Variables this tape watches, in the order they were created."""
        found = [t for t in self._watched.values() if isinstance(t, Variable)]
        return tuple(sorted(found, key=lambda v: v._uid))

    # ------------------------------------------------------------ releasing
    def _release(self) -> None:
        for node in self._nodes:
            node.tape_refs -= 1
            if node.tape_refs <= 0:
                node.release()
        self._nodes = set()
        self._boundary = set()

    def reset(self) -> None:
        """Forget everything recorded and watched (recording goes on inside the ``with`` block)."""
        self._release()
        self._watched = {}
        self._used = False

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def _check_usable(self) -> None:
        if self._used and not self._persistent:
            raise RuntimeError(NON_PERSISTENT_MESSAGE)

    def _finish(self) -> None:
        if not self._persistent:
            self._used = True
            self._release()

    # ------------------------------------------------------------ derivatives
    def _source_keys(self, sources: list[Any], op: str) -> list[Tensor | None]:
        keys: list[Tensor | None] = []
        for s in sources:
            if not isinstance(s, Tensor):
                raise TypeError(
                    f"GradientTape.{op}: sources must be tensors or Variables, got {type(s).__name__}"
                )
            base, _ = _base_of(s)
            node = base._node
            tracked = (node is not None and (node in self._nodes or node in self._boundary)) or (
                self._watched.get(id(base)) is base
            )
            keys.append(base if tracked and base._data.dtype.kind == "f" else None)
        return keys

    def _sweep(self, roots: list[tuple[Tensor, Any]], keys: list[Tensor | None]) -> list[Any]:
        targets = [k for k in keys if k is not None]
        if not roots or not targets:
            return [None] * len(keys)
        create = state.grad_enabled and any(isinstance(i, GradientTape) for i in current())
        allowed = set(self._nodes) if self._recording else self._nodes
        if self._boundary:
            allowed = allowed | self._boundary
        batched_seed = any(isinstance(seed, BatchedTensor) for _, seed in roots)
        if batching_active() and not batched_seed:
            with below():
                grads = backprop(roots, targets=targets, retain_graph=True, create_graph=create, allowed=allowed)
        else:
            grads = backprop(roots, targets=targets, retain_graph=True, create_graph=create, allowed=allowed)
        it = iter(grads)
        out = []
        for k in keys:
            if k is None:
                out.append(None)
                continue
            g = next(it)
            if g is not None and not isinstance(g, Tensor):
                g = _plain(g)
            if g is not None and not create and not needs_tensor_rules() and not isinstance(g, BatchedTensor):
                data = g._data
                if data.base is not None or not data.flags.writeable:
                    g = _plain(data.copy())
            out.append(g)
        return out

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: Any = UnconnectedGradients.NONE) -> Any:  # fmt: skip
        """The gradient of ``target`` with respect to ``sources``, with ``sources``' structure.

        A non-scalar target is summed (``output_gradients`` weighs it instead), and so is a list
        of targets. An unwatched or unconnected source gives ``None`` (zeros with
        ``unconnected_gradients=UnconnectedGradients.ZERO``), except a source that is itself
        one of the targets: its own seed, watched or not, as in TensorFlow. Sources may be
        intermediate tensors computed inside the tape.

        >>> import chainrule as cr
        >>> a, b = cr.Variable(6.0), cr.Variable(2.0, trainable=False)
        >>> with cr.GradientTape() as tape:
        ...     y = a ** 2 + b
        >>> tape.gradient(y, {"a": a, "b": b})
        {'a': tensor(12., dtype=float64), 'b': None}
        """
        self._check_usable()
        mode = _unconnected(unconnected_gradients)
        t_leaves, t_def = flatten(target)
        s_leaves, s_def = flatten(sources)
        if output_gradients is None:
            og_leaves: list[Any] = [None] * len(t_leaves)
        else:
            og_leaves, og_def = flatten(output_gradients)
            if og_def != t_def:
                raise ValueError(
                    f"GradientTape.gradient: output_gradients has structure {og_def!r} but the "
                    f"target has {t_def!r}"
                )
        roots = []
        for t, og in zip(t_leaves, og_leaves):
            if not isinstance(t, Tensor):
                continue
            base, levels = _base_of(t)
            if base._data.dtype.kind != "f":
                continue
            if og is None:
                seed: Any = _plain(np.ones(tuple(t.shape), dtype=base._data.dtype))
            else:
                seed = og if isinstance(og, Tensor) else _plain(np.asarray(og, dtype=base._data.dtype))
                if tuple(seed.shape) != tuple(t.shape):
                    raise ValueError(
                        f"GradientTape.gradient: an output gradient has shape {tuple(seed.shape)} "
                        f"but its target has shape {tuple(t.shape)}"
                    )
            roots.append((base, to_base_world(seed, levels)))
        keys = self._source_keys(s_leaves, "gradient")
        grads = self._sweep(roots, keys)
        results = []
        for s, k, g in zip(s_leaves, keys, grads):
            if k is None and g is None:
                g = _seed_of_untracked_target(s, roots)
            if g is None:
                results.append(_zero_like(s) if mode is UnconnectedGradients.ZERO else None)
            else:
                results.append(from_base_world(g, _base_of(s)[1]))
        self._finish()
        return unflatten(s_def, results)

    def jacobian(self, target: Any, sources: Any,
                 unconnected_gradients: Any = UnconnectedGradients.NONE,
                 parallel_iterations: Any = None, experimental_use_pfor: bool = True) -> Any:  # fmt: skip
        """The Jacobian of ``target``: for a source of shape ``T``, shape ``target.shape + T``.

        Computed in one batched backward sweep (the rows of the identity pulled back together).
        With ``experimental_use_pfor=False`` the rows are pulled back one at a time instead.

        >>> import chainrule as cr
        >>> x = cr.Variable([1.0, 2.0])
        >>> with cr.GradientTape() as tape:
        ...     y = x * x
        >>> tape.jacobian(y, x)
        tensor([[2., 0.],
                [0., 4.]], dtype=float64)
        """
        self._check_usable()
        mode = _unconnected(unconnected_gradients)
        if not isinstance(target, Tensor):
            raise TypeError(f"GradientTape.jacobian: the target must be a tensor, got {type(target).__name__}")
        s_leaves, s_def = flatten(sources)
        keys = self._source_keys(s_leaves, "jacobian")
        y, y_levels = _base_of(target)
        shape = tuple(target.shape)
        m = int(np.prod(shape))
        if m == 0 or y._data.dtype.kind != "f":
            rows: list[Any] = [None] * len(keys)
        elif experimental_use_pfor:
            rows = self._batched_rows(y, y_levels, shape, m, keys)
        else:
            rows = self._looped_rows(y, y_levels, shape, m, keys)
        results = []
        for s, k, r in zip(s_leaves, keys, rows):
            full = shape + tuple(s.shape)
            if k is None and m and _base_of(s)[0] is y and y._data.dtype.kind == "f":
                # The target itself, never seen by the tape: its Jacobian is the identity.
                results.append(_plain(np.eye(m, dtype=y._data.dtype).reshape(full)))
                continue
            if r is None:
                if mode is UnconnectedGradients.ZERO or m == 0:
                    results.append(_plain(np.zeros(full, dtype=s.dtype)))
                else:
                    results.append(None)
                continue
            results.append(bind(registry["reshape"], r, shape=full))
        self._finish()
        return unflatten(s_def, results)

    def _batched_rows(self, y: Tensor, y_levels: tuple[int, ...], shape: tuple[int, ...], m: int,
                      keys: list[Tensor | None]) -> list[Any]:  # fmt: skip
        """All rows in one sweep: each rows' cotangent along a batching level of its own."""
        from chainrule.transforms.batching import add_level

        level = push_level(m, user=False)
        try:
            basis = np.eye(m, dtype=y._data.dtype).reshape((m,) + shape)
            seed = to_base_world(add_level(basis, 0, level), y_levels)
            grads = self._sweep([(y, seed)], keys)
        finally:
            pop_level(level)
        rows = []
        for k, g in zip(keys, grads):
            if g is None:
                rows.append(None)
                continue
            rows.append(remove_level(from_base_world(g, _base_of(k)[1] if k is not None else ()), level, 0))
        return rows

    def _looped_rows(self, y: Tensor, y_levels: tuple[int, ...], shape: tuple[int, ...], m: int,
                     keys: list[Tensor | None]) -> list[Any]:  # fmt: skip
        from chainrule.ops.shape import stack

        per_row: list[list[Any]] = [[] for _ in keys]
        for r in range(m):
            e = np.zeros(m, dtype=y._data.dtype)
            e[r] = 1.0
            seed = to_base_world(_plain(e.reshape(shape)), y_levels)
            for acc, g in zip(per_row, self._sweep([(y, seed)], keys)):
                acc.append(g)
        rows = []
        for k, gs in zip(keys, per_row):
            if k is None or all(g is None for g in gs):
                rows.append(None)
                continue
            filled = [g if g is not None else _plain(np.zeros(k.shape, dtype=k.dtype)) for g in gs]
            rows.append(stack(filled, axis=0))
        return rows

    def batch_jacobian(self, target: Any, source: Any,
                       unconnected_gradients: Any = UnconnectedGradients.NONE,
                       parallel_iterations: Any = None, experimental_use_pfor: bool = True) -> Any:  # fmt: skip
        """Per-example Jacobians: shape ``(batch,) + target.shape[1:] + source.shape[1:]``.

        Example ``b`` of the target must depend only on example ``b`` of the source. One batched
        sweep: the rows of each example's Jacobian are pulled back together for every example.

        >>> import chainrule as cr
        >>> x = cr.Variable([[1.0, 2.0], [3.0, 4.0]])
        >>> with cr.GradientTape() as tape:
        ...     y = x * x
        >>> tape.batch_jacobian(y, x).shape
        (2, 2, 2)
        """
        self._check_usable()
        mode = _unconnected(unconnected_gradients)
        if not isinstance(target, Tensor) or not isinstance(source, Tensor):
            raise TypeError("GradientTape.batch_jacobian: target and source must be tensors")
        t_shape, s_shape = tuple(target.shape), tuple(source.shape)
        if not t_shape or not s_shape or t_shape[0] != s_shape[0]:
            raise ValueError(
                f"GradientTape.batch_jacobian: target {t_shape} and source {s_shape} need the same "
                "first (batch) dimension"
            )
        n = t_shape[0]
        m = int(np.prod(t_shape[1:]))
        full = (n,) + t_shape[1:] + s_shape[1:]
        keys = self._source_keys([source], "batch_jacobian")
        y, y_levels = _base_of(target)
        g = None
        if keys[0] is None and m and n and _base_of(source)[0] is y and y._data.dtype.kind == "f":
            # The target itself, never seen by the tape: each example's Jacobian is the identity.
            self._finish()
            eye = np.eye(m, dtype=y._data.dtype).reshape(t_shape[1:] + s_shape[1:])
            return _plain(np.broadcast_to(eye, full).copy())
        if m and n and keys[0] is not None:
            from chainrule.transforms.batching import add_level

            level = push_level(m, user=False)
            try:
                eye = np.eye(m, dtype=y._data.dtype).reshape((m, 1) + t_shape[1:])
                basis = np.broadcast_to(eye, (m, n) + t_shape[1:]).copy()
                seed = to_base_world(add_level(basis, 0, level), y_levels)
                (g,) = self._sweep([(y, seed)], keys)
            finally:
                pop_level(level)
        self._finish()
        if g is None:
            if mode is UnconnectedGradients.ZERO or not (m and n):
                return _plain(np.zeros(full, dtype=source.dtype))
            return None
        g = remove_level(from_base_world(g, _base_of(source)[1]), level, 1)  # (n, m, *s[1:])
        return bind(registry["reshape"], g, shape=full)

    def __repr__(self) -> str:
        kind = "persistent " if self._persistent else ""
        return f"<{kind}GradientTape: {len(self._nodes)} recorded ops, {len(self._watched)} watched>"


def _seed_of_untracked_target(source: Any, roots: list[tuple[Tensor, Any]]) -> Any:
    """d(target)/d(target) for a source the tape never tracked but that is one of the targets.

    TensorFlow answers the identity here (the seed, or the sum of seeds when the source appears
    among the targets several times), whether or not the tape watched it: no recorded op can
    lead from another target back to an untracked tensor, so the seeds are the whole gradient.
    """
    base, _ = _base_of(source)
    if base._data.dtype.kind != "f":
        return None
    total = None
    for root, seed in roots:
        if root is base:
            total = seed if total is None else bind(registry["add"], total, seed)
    # A fresh tensor, never the caller's output_gradients object itself.
    return None if total is None else bind(registry["mul"], total, 1)


def _zero_like(s: Any) -> Tensor:
    return _plain(np.zeros(tuple(s.shape), dtype=s.dtype))


class _StopRecording:
    __slots__ = ("_tape", "_index")

    def __init__(self, tape: GradientTape) -> None:
        self._tape = tape

    def __enter__(self) -> None:
        stack = current()
        self._index = stack.index(self._tape) if self._tape in stack else None
        self._tape._recording = False
        pop(self._tape)

    def __exit__(self, *exc: object) -> None:
        self._tape._recording = True
        if self._index is None:
            push(self._tape)
        else:
            # Back where it was (the block's own pushes and pops have balanced out).
            stack = list(current())
            stack.insert(min(self._index, len(stack)), self._tape)
            set_stack(tuple(stack))

