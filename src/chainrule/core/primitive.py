"""Primitives: an op declared once, with its forward, its VJP rules and its JVP rules.

A primitive's forward (`impl`) works on raw arrays. Its rules are written with chainrule's own
primitives, so that the same rule runs on raw arrays during a first-order backward pass (fast:
calling a primitive on raw arrays returns a raw array) and on Tensors when the backward pass is
itself recorded (`create_graph=True`, nested tapes), which gives derivatives of any order.

VJP rule signature: ``rule(g, ans, *inputs, **params) -> cotangent for that input``.
JVP rule signature: ``rule(t, ans, *inputs, **params) -> tangent of the output from that input``.

The engine undoes broadcasting and casts to the input's dtype, so a rule may return a cotangent
of the broadcast shape.

Writing both rules for every input is often redundant; a small vocabulary derives them:

- ``def_partials(*partials)``: an elementwise op gives each input's partial derivative
  ``partial(ans, *inputs, **params)`` once; its VJP is ``g * partial`` and its JVP ``t * partial``
  (one closure per input, made here, serves both). A constant partial (``1``, ``-1``) gives
  ``g``/``-g`` without a multiplication.
- ``def_chain(*rules)``: the same for ops whose derivative is diagonal (or symmetric) but reads
  better, or costs less, with the seed inside: ``rule(s, ans, *inputs, **params)`` is the VJP
  (``s = g``) and the JVP (``s = t``), e.g. ``s / x`` for log.
- ``def_linear()``: an op linear in each input (reshape, sum, getitem, matmul): its JVP is the op
  itself with the tangent in that input's place and the other arguments unchanged.
- ``batching=``: how vmap runs the op on a whole batch, declared where it is born: a kind from
  ``BATCHING_KINDS`` (``"elementwise"``, ``"axis"`` with the names of the params that hold axes,
  ``"trailing"``), implemented once per kind in ``transforms/batching_rules.py``, or a rule of
  its own (``def_batching(rule)``).

>>> import chainrule as cr
>>> cube_p = Primitive("cube_doc", lambda x: x ** 3, nin=1, batching="elementwise")
>>> _ = cube_p.def_partials(lambda ans, x: 3 * x * x)
>>> x = cr.tensor(2.0, requires_grad=True)
>>> cube_p(x).backward()
>>> x.grad
tensor(12., dtype=float64)
>>> del registry["cube_doc"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.linalg import LinAlgError

from chainrule.core.backend import PLAIN_TYPES as _PLAIN_TYPES
from chainrule.core.modes import BUSY_THREADS as _BUSY_THREADS
from chainrule.core.modes import state as _state
from chainrule.core.tensor import Tensor

__all__ = ["Primitive", "registry", "RULE_NOT_DIFFERENTIABLE", "OP_ERRORS", "VIEW_PRIMITIVES",
           "BATCHING_KINDS", "refuse_complex"]

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

#: The batching kinds a primitive can declare (``Primitive(batching=...)``). Each has one generic
#: rule in ``transforms/batching_rules.py``:
#:
#: - ``"elementwise"``: NumPy broadcasting per example;
#: - ``"axis"``: the op works along the axes its params name (``("axis", "axis1", "axis2")``;
#:   plain ``"axis"`` means the param ``axis``, where None stands for every axis);
#: - ``"trailing"``: the op works on its last axes and already maps over any leading ones
#:   (NumPy's linear algebra on stacks of matrices).
BATCHING_KINDS = ("elementwise", "axis", "trailing")


def refuse_complex(prim: Primitive, where: str) -> None:
    """Raise: ``prim``'s rules are not written for the complex values it was applied to."""
    raise TypeError(
        f"{prim.name}: cannot differentiate through this op with a complex {where}; its "
        "derivative rules are written for real values and would give a wrong gradient. Apply it "
        "to real values (cr.real, cr.imag, cr.abs of the complex one) or compute it without "
        "gradient (under cr.no_grad, or on .detach())"
    )


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
    complex_ok:
        The rules are right for complex inputs and outputs under JAX's convention (the
        cotangent of ``z = x + iy`` is ``dL/dx - i dL/dy``; a holomorphic op's VJP is
        ``g * f'(z)``). False (the default): recording the op on a complex value raises, since
        rules written for real values (max, sign, sort...) would give a wrong gradient.
    batching:
        How vmap runs the op on a batch: a kind from ``BATCHING_KINDS`` (``"elementwise"``,
        ``"axis"``, ``"trailing"``), ``("axis", "axis1", "axis2")`` to name the params holding
        axes, or a rule of the op's own (see ``def_batching``). None: no rule; vmap then falls
        back to a loop over the examples (and a test lists such primitives).
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
        "batching",
        "jet",
        "complex_ok",
        "xp_impls",
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
        batching: str | tuple[str, ...] | Rule | None = None,
        complex_ok: bool = False,
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
        self.complex_ok = complex_ok
        # The forward for each other array library that has run it (core/backend.py: impl_for).
        self.xp_impls: dict[Any, Callable[..., Any]] | None = None
        self.batching: tuple[str, ...] | Rule | None = None
        # Taylor-mode rule (transforms/jet.py): a rule, "linear" (from def_linear), or None.
        self.jet: Rule | str | None = None
        if batching is not None:
            self._set_batching(batching)
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

    def def_partials(self, *partials: Rule | float | None) -> Primitive:
        """Declare an elementwise op's rules from its partial derivatives, one per input.

        ``partial(ans, *inputs, **params)`` is the derivative of the output with respect to that
        input, written with chainrule's primitives (so that it is differentiable itself); it may
        have the output's (broadcast) shape. The VJP is then ``g * partial`` and the JVP
        ``t * partial``: one closure per input, made here, is both rules, so a backward pass pays
        one extra function call for it. A number stands for a constant partial: ``1`` passes the
        seed through and ``-1`` negates it, with no multiplication. ``None`` marks an input with
        no derivative.

        The inputs a partial reads must be declared kept (``saves``/``reads``, or ``saves_ans``
        for ``ans``), as for any VJP rule.

        >>> import chainrule as cr
        >>> mul3_p = Primitive("mul3_doc", lambda x, y: 3 * x * y, nin=2)
        >>> _ = mul3_p.def_partials(lambda ans, x, y: 3 * y, lambda ans, x, y: 3 * x)
        >>> x, y = cr.tensor(2.0, requires_grad=True), cr.tensor(5.0, requires_grad=True)
        >>> mul3_p(x, y).backward()
        >>> float(x.grad), float(y.grad)
        (15.0, 6.0)
        >>> del registry["mul3_doc"]
        """
        if len(partials) != self.nin:
            raise ValueError(f"{self.name}: expected {self.nin} partials, got {len(partials)}")
        for p in partials:
            if not (p is None or callable(p) or (isinstance(p, (int, float)) and not isinstance(p, bool))):
                raise TypeError(
                    f"{self.name}: a partial is a function (ans, *inputs, **params), a number or "
                    f"None, got {p!r}"
                )
        rules = tuple(None if p is None else _times_partial(p, self.nin) for p in partials)
        self.vjp_rules = rules
        self.jvp_rules = rules
        return self

    def def_chain(self, *rules: Rule | None) -> Primitive:
        """Declare one rule per input that is both the VJP and the JVP rule.

        ``rule(s, ans, *inputs, **params)`` applies the op's derivative in that input to a seed
        ``s`` (the cotangent ``g`` in reverse mode, the tangent ``t`` in forward mode). That is
        right when the derivative is its own transpose: a diagonal one (elementwise ops; the
        engine undoes broadcasting) or a symmetric one. Use it instead of ``def_partials`` when
        the seed does not enter as a plain product (``s / x`` costs one NumPy call, ``s * (1 / x)``
        two; ``where(c, s, 0)`` keeps a NaN seed out of the unselected entries).

        >>> import numpy as np
        >>> import chainrule as cr
        >>> ln_p = Primitive("ln_doc", np.log, nin=1).def_chain(lambda s, ans, x: s / x)
        >>> x = cr.tensor(4.0, requires_grad=True)
        >>> ln_p(x).backward()
        >>> x.grad
        tensor(0.25, dtype=float64)
        >>> cr.jvp(ln_p, (cr.tensor(4.0),), (cr.tensor(2.0),))[1]
        tensor(0.5, dtype=float64)
        >>> del registry["ln_doc"]
        """
        if len(rules) != self.nin:
            raise ValueError(f"{self.name}: expected {self.nin} rules, got {len(rules)}")
        self.vjp_rules = rules
        self.jvp_rules = rules
        return self

    def def_linear(self) -> Primitive:
        """Declare the op linear in each of its inputs: its JVP is the op itself.

        The JVP in input ``i`` applies the primitive, with the same params, to the inputs with
        the tangent in place of input ``i`` (reshape, sum, getitem: ``op(t)``; matmul, einsum:
        ``op(t, b)`` and ``op(a, t)``). Only for ops linear in each input with the others held
        fixed: not ``pad`` with a nonzero fill value, nor ``add`` or ``concat2``, whose JVP needs
        zeros in the other input's place.

        >>> import chainrule as cr
        >>> twice_p = Primitive("twice_doc", lambda x: 2 * x, nin=1).def_linear()
        >>> cr.jvp(twice_p, (cr.tensor(1.0),), (cr.tensor(3.0),))[1]
        tensor(6., dtype=float64)
        >>> del registry["twice_doc"]
        """
        self.jvp_rules = tuple(_linear_jvp(self, i) for i in range(self.nin))
        if self.jet is None:
            self.jet = "linear"
        return self

    def def_jet(self, rule: Rule) -> Primitive:
        """Declare the Taylor-mode rule (``transforms/jet.py`` says what a rule receives)."""
        self.jet = rule
        return self

    def def_batching(self, kind: str | Rule, *axis_params: str) -> Primitive:
        """Declare how vmap runs the op: a kind of ``BATCHING_KINDS`` or a rule of its own.

        ``def_batching("axis", "axis1", "axis2")`` is ``batching=("axis", "axis1", "axis2")``.
        A rule of its own has the form of ``transforms/batching_rules.py``:
        ``rule(prim, vals, flags, nb, params) -> output``, where ``vals`` are the arguments with
        each batched one replaced by its base (``nb`` leading batch axes) and ``flags[i]`` says
        which are; it returns the whole batch's output, batch axes first. (``def_batch`` takes
        the simpler one-batch-axis form of JAX instead.)

        >>> import chainrule as cr
        >>> total_p = Primitive("total_doc", lambda x, *, axis: x.sum(axis=axis), nin=1)
        >>> _ = total_p.def_batching("axis")
        >>> cr.vmap(lambda x: total_p(x, axis=-1))(cr.ones((2, 3, 4))).shape
        (2, 3)
        >>> del registry["total_doc"]
        """
        if callable(kind):
            if axis_params:
                raise ValueError(f"{self.name}: a batching rule of its own takes no axis params")
            self.batching = kind
        else:
            self._set_batching((kind, *axis_params))
        return self

    def _set_batching(self, batching: str | tuple[str, ...] | Rule) -> None:
        if callable(batching):
            self.batching = batching
            return
        spec = (batching,) if isinstance(batching, str) else tuple(batching)
        kind = spec[0] if spec else None
        if kind not in BATCHING_KINDS:
            raise ValueError(
                f"{self.name}: unknown batching kind {kind!r}; use one of {BATCHING_KINDS} or a "
                "rule of its own (def_batching(rule))"
            )
        if kind == "axis":
            spec = spec if len(spec) > 1 else ("axis", "axis")
        elif len(spec) > 1:
            raise ValueError(f"{self.name}: only the 'axis' batching kind takes param names, got {spec}")
        self.batching = spec

    def __call__(self, *args: Any, **params: Any) -> Any:
        """Apply the primitive. Raw arrays in give a raw array out; a Tensor in gives a Tensor.

        The raw case is what derivative rules hit during a first-order backward pass, so it
        calls the forward directly.
        """
        for a in args:
            kind = type(a)
            if kind is _ndarray:
                continue  # what rules pass on the raw path: checked first, and once
            # (A list may hold tensors: bind stacks it rather than reading it as a constant. An
            # array of another library than NumPy takes bind's path for it too.)
            if isinstance(a, Tensor) or kind is list or kind is tuple or kind not in _PLAIN_TYPES:
                return _bind(self, *args, **params)
        if _BUSY_THREADS and _state.busy:
            return _bind(self, *args, **params)
        try:
            return self.impl(*args, **params)
        except OP_ERRORS as exc:
            from chainrule.core.dispatch import _op_error

            raise _op_error(self, list(args), params, exc) from exc

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


# ---------------------------------------------------------------- rules made from declarations
# The raw backward pass calls each rule as ``rule(g, ans, *inputs)`` (with ``**params`` only when
# the op has some), so the closures below take the inputs as fixed positional arguments and pass
# params on only to a partial that can take them: packing ``*args`` or forwarding an empty
# ``**params`` would cost more than the extra call itself.
def _seed_1(s: Any, ans: Any, x: Any, **params: Any) -> Any:
    return s


def _seed_2(s: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
    return s


def _seed_n(s: Any, ans: Any, *args: Any, **params: Any) -> Any:
    return s


def _negated_seed_1(s: Any, ans: Any, x: Any, **params: Any) -> Any:
    return -s


def _negated_seed_2(s: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
    return -s


def _negated_seed_n(s: Any, ans: Any, *args: Any, **params: Any) -> Any:
    return -s


_CONSTANT_RULES = {
    (1, 1): _seed_1, (1, 2): _seed_2, (-1, 1): _negated_seed_1, (-1, 2): _negated_seed_2,
}  # fmt: skip


def _takes_params(fn: Callable[..., Any], nin: int) -> bool:
    """Whether ``fn(ans, *inputs, **params)`` can take params (a callable of unknown form: yes)."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & 0x08:  # 0x08: CO_VARKEYWORDS
        return True
    return code.co_argcount > nin + 1 or code.co_kwonlyargcount > 0


def _times_partial(p: Any, nin: int) -> Rule:
    """The rule ``s * p(ans, *inputs, **params)``, shared by both modes."""
    if not callable(p):
        if p == 1 or p == -1:
            return _CONSTANT_RULES.get((p, nin), _seed_n if p == 1 else _negated_seed_n)
        c = p

        def constant(ans: Any, *args: Any, **params: Any) -> Any:
            return c

        p = constant
    if not _takes_params(p, nin):
        if nin == 1:

            def times_plain_partial_1(s: Any, ans: Any, x: Any) -> Any:
                return s * p(ans, x)

            return times_plain_partial_1
        if nin == 2:

            def times_plain_partial_2(s: Any, ans: Any, x: Any, y: Any) -> Any:
                return s * p(ans, x, y)

            return times_plain_partial_2
    if nin == 1:

        def times_partial_1(s: Any, ans: Any, x: Any, **params: Any) -> Any:
            if params:
                return s * p(ans, x, **params)
            return s * p(ans, x)

        return times_partial_1
    if nin == 2:

        def times_partial_2(s: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
            if params:
                return s * p(ans, x, y, **params)
            return s * p(ans, x, y)

        return times_partial_2

    def times_partial_n(s: Any, ans: Any, *args: Any, **params: Any) -> Any:
        return s * p(ans, *args, **params)

    return times_partial_n


def _linear_jvp(prim: Primitive, i: int) -> Rule:
    """The JVP in input ``i`` of an op linear in it: the op with the tangent in that place."""
    if prim.nin == 1:

        def linear_jvp_1(t: Any, ans: Any, x: Any, **params: Any) -> Any:
            return prim(t, **params)

        return linear_jvp_1
    if prim.nin == 2:
        if i == 0:

            def linear_jvp_first(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
                return prim(t, y, **params)

            return linear_jvp_first

        def linear_jvp_second(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
            return prim(x, t, **params)

        return linear_jvp_second

    def linear_jvp_n(t: Any, ans: Any, *args: Any, **params: Any) -> Any:
        return prim(*args[:i], t, *args[i + 1 :], **params)

    return linear_jvp_n


def _bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    # Late import: dispatch imports this module for the Primitive type.
    from chainrule.core.dispatch import bind

    global _bind
    _bind = bind  # noqa: PLW0603 - replace the trampoline with the real function once
    return bind(prim, *args, **params)
