"""Primitives: an op declared once, with its forward, its VJP rules and its JVP rules.

A primitive's forward (`impl`) works on raw arrays. Its rules are written with chainrule's own
primitives, so that the same rule runs on raw arrays during a first-order backward pass (fast:
calling a primitive on raw arrays returns a raw array) and on Tensors when the backward pass is
itself recorded (`create_graph=True`, nested tapes), which gives derivatives of any order.

VJP rule signature: ``rule(g, ans, *inputs, **params) -> cotangent for that input``.
JVP rule signature: ``rule(t, ans, *inputs, **params) -> tangent of the output from that input``.

The engine undoes broadcasting and casts to the input's dtype, so a rule may return a cotangent
of the broadcast shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.linalg import LinAlgError

from chainrule.core.modes import state as _state
from chainrule.core.tensor import Tensor

__all__ = ["Primitive", "registry", "RULE_NOT_DIFFERENTIABLE", "OP_ERRORS", "VIEW_PRIMITIVES"]

Rule = Callable[..., Any]

#: Marks an input with respect to which the op has no derivative (an index, a condition).
RULE_NOT_DIFFERENTIABLE: Any = None

registry: dict[str, Primitive] = {}
#: The primitives whose result may be a view of their input (declared with view=/def_view).
VIEW_PRIMITIVES: set[Primitive] = set()
_ndarray = np.ndarray

#: What a forward may raise on bad input. Every entry point (``bind``, a primitive called on raw
#: arrays) catches exactly these and re-raises them with the op's name, shapes and dtypes.
OP_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError, LinAlgError)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class Primitive:
    """One differentiable (or explicitly non-differentiable) operation.

    Parameters
    ----------
    name:
        Registry name, unique (``"mul"``).
    impl:
        Forward on raw arrays: ``impl(*arrays, **params) -> array``.
    saves:
        Indices of the inputs the VJP rules read. Inputs not listed are passed to the rules as
        ``None``; keeping the list short is what keeps backward memory low.
    saves_ans:
        Whether the VJP rules read the output (``exp``: ``g * ans``).
    differentiable:
        ``False`` for ops whose output carries no gradient (comparisons, argmax).
    grad_fn_name:
        The node's name shown in ``grad_fn`` (PyTorch's names, e.g. ``MulBackward0``).
    reads:
        Optional refinement of ``saves``: per input, the inputs its VJP rule reads. A node then
        keeps only what the rules of its tracked inputs read (``x * c`` keeps nothing when only
        ``x`` needs a gradient, since its rule reads ``c``, a constant that is always kept).
    view:
        The forward may return a view of its input's memory (transpose, basic slicing, reshape):
        the result then shares the input's version counter, and in-place writes through it are
        writes to the input. ``def_view`` also says how to record such a write; a view without
        it (``broadcast_to``, read-only anyway) refuses recorded writes.
    uses_shapes:
        The rules read ``.shape``/``.dtype``/``.ndim`` of inputs they do not save (reshape,
        sum); those inputs are then passed as a small ``InputMeta`` instead of ``None``.
    register:
        ``False`` keeps the primitive out of ``registry`` (a rule made at run time, such as one
        ``custom_vjp`` call's node: it has no op-table entry and its name need not be unique).
    """

    __slots__ = (
        "name",
        "impl",
        "vjp_rules",
        "jvp_rules",
        "batch_rule",
        "saves",
        "saves_ans",
        "differentiable",
        "grad_fn_name",
        "nin",
        "uses_shapes",
        "reads",
        "view",
    )

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        *,
        nin: int,
        saves: Sequence[int] | None = None,
        saves_ans: bool = False,
        differentiable: bool = True,
        grad_fn_name: str | None = None,
        uses_shapes: bool = False,
        reads: Sequence[Sequence[int]] | None = None,
        view: bool = False,
        register: bool = True,
    ) -> None:
        if register and name in registry:
            raise ValueError(f"primitive {name!r} is already registered")
        self.name = name
        self.impl = impl
        self.nin = nin
        self.vjp_rules: tuple[Rule | None, ...] = ()
        self.jvp_rules: tuple[Rule | None, ...] = ()
        self.batch_rule: Rule | None = None
        self.saves: tuple[int, ...] = tuple(range(nin)) if saves is None else tuple(saves)
        self.saves_ans = saves_ans
        self.differentiable = differentiable
        self.grad_fn_name = grad_fn_name or f"{_camel(name)}Backward0"
        self.uses_shapes = uses_shapes
        self.reads = None if reads is None else tuple(tuple(r) for r in reads)
        self.view = view
        if view:
            VIEW_PRIMITIVES.add(self)
        if register:
            registry[name] = self

    def def_vjp(self, *rules: Rule | None) -> Primitive:
        """Declare one VJP rule per input (``None`` where the input has no derivative)."""
        if len(rules) != self.nin:
            raise ValueError(f"{self.name}: expected {self.nin} VJP rules, got {len(rules)}")
        self.vjp_rules = rules
        return self

    def def_jvp(self, *rules: Rule | None) -> Primitive:
        """Declare one JVP rule per input (``None`` where the input has no derivative)."""
        if len(rules) != self.nin:
            raise ValueError(f"{self.name}: expected {self.nin} JVP rules, got {len(rules)}")
        self.jvp_rules = rules
        return self

    def def_view(self, write_back: Rule) -> Primitive:
        """Declare the op a view, with how to write through it.

        ``write_back(base, value, **params)`` returns ``base`` with the entries this view shows
        replaced by ``value``, built from differentiable ops: a recorded in-place write through
        the view gives the base that history (PyTorch's CopySlices).
        """
        self.view = write_back
        VIEW_PRIMITIVES.add(self)
        return self

    def def_batch(self, rule: Rule) -> Primitive:
        """Declare the vmap rule: ``rule(args, dims, **params) -> (out, out_dim)``."""
        self.batch_rule = rule
        return self

    def __call__(self, *args: Any, **params: Any) -> Any:
        """Apply the primitive. Raw arrays in give a raw array out; a Tensor in gives a Tensor.

        The raw case is what derivative rules hit during a first-order backward pass, so it
        calls the forward directly.
        """
        for a in args:
            kind = type(a)
            if kind is _ndarray:
                continue  # what rules pass on the raw path: checked first, and once
            # (A list may hold tensors: bind stacks it rather than reading it as a constant.)
            if isinstance(a, Tensor) or kind is list or kind is tuple:
                return _bind(self, *args, **params)
        if _state.busy:
            return _bind(self, *args, **params)
        try:
            return self.impl(*args, **params)
        except OP_ERRORS as exc:
            from chainrule.core.dispatch import _op_error

            raise _op_error(self, list(args), params, exc) from exc

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    # Late import: dispatch imports this module for the Primitive type.
    from chainrule.core.dispatch import bind

    global _bind
    _bind = bind  # noqa: PLW0603 - replace the trampoline with the real function once
    return bind(prim, *args, **params)
