"""Control flow that ``cr.jit`` traces once: ``cond``, ``switch`` and ``fori_loop``.

Inside a jitted function, a ``cond`` on a traced predicate traces each branch once into a
*sub-program* (a :class:`~chainrule.transforms.jit_program.Program` of its own) and puts one
``cond`` op in the program: at every call it runs the chosen branch's sub-program only. A
``fori_loop`` with static bounds traces its body once and puts one ``fori_loop`` op in the
program, which replays the body ``upper - lower`` times: the program's size does not grow with
the trip count. ``lower(...).as_text()`` shows the sub-programs as indented blocks, as a jaxpr
shows ``cond[ branches=(...) ]``.

How a sub-program is made (:func:`trace_sub`): a fresh tracing level (``jit._Tracing`` with a
``parent``) runs the branch or body on copies of the operands. Values of the enclosing traces
the function closes over (and state: Variables, tensors that require grad) become extra inputs
of the sub-program (JAX's closure conversion); other closed-over arrays are constants.

Each control op is a primitive (:class:`_ControlPrimitive`), so the transforms see it as one:

- **Reverse mode.** The VJP of ``cond`` is a ``cond`` of the branches' VJPs (each traced once
  into a sub-program, when first needed). The VJP of ``fori_loop`` runs the loop forward again,
  keeping the carry of every iteration (a loop whose body outputs the carry it was given), then
  a loop backward over those carries with the body's VJP as its body, summing the cotangents of
  the values the body closes over. Both are control ops themselves, so their VJPs are derived
  the same way: second and higher derivatives work.
- **Many values in, many out.** A primitive has one output, and the engine one node per
  primitive, so the floating-point values travel packed: the float inputs as one flat array (a
  concatenation, differentiable), the float outputs as one flat array unpacked with crops. A
  branch's or body's integer and boolean outputs come from primitives of their own, which run
  the same sub-program again (they carry no gradient).
- **vmap** of a jitted function replays the control op per example (vmap's loop for primitives
  without a batching rule); a ``cond`` whose predicate is batched selects with ``where`` instead
  (both branches run, as in JAX), and inside ``vmap``, ``jvp`` or ``jet`` (forward-mode or
  batching levels above the trace) control flow is traced as before: ``cond`` runs both branches
  and selects, ``fori_loop`` unrolls.

An index made from a traced value (``x[i]`` with the loop index ``i``) is an input of its op
(``jit._DynamicIndex``), so a body or branch that indexes stays one op. A sub-program must not
read a traced value into other settings (a boolean mask, a shape): such a read is detected and
the loop is unrolled (the ``cond`` selects with ``where``) instead, which gives the right values.
A branch that writes state (``Variable.assign``, an in-place update of a parameter, an
optimizer step) is refused at trace time; a loop body that does is unrolled, so that every
step's write is the enclosing trace's own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.engine import backprop
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive, registry
from chainrule.core.stack import push, set_stack
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.jit import (
    ConcretizationError,
    Traced,
    _Effect,
    _Escaped,
    _Tracing,
    _user_line,
)
from chainrule.transforms.jit_program import Const, Program
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["cond", "switch", "fori_loop", "trace_sub", "Sub"]

_ndarray = np.ndarray
_INDEX = np.dtype(np.int64)


class _Leak(ConcretizationError):
    """A sub-trace read a traced value into an op's settings (an index, a mask)."""


class _Opaque(Exception):
    """A sub-trace met a primitive jit cannot replay (a custom_vjp call)."""


class _StateWrite(Exception):
    """A sub-trace wrote state (a Variable, a parameter in place, an optimizer step, a .grad)."""


def _state_written(interp: _Tracing) -> str | None:
    """What a trace wrote into state (None: nothing), from its state log and its updates."""
    log = interp.state
    if log.writes:
        t = interp.captures[min(log.writes)]
        return f"it writes a {type(t).__name__} of shape {tuple(t._data.shape)} in place (assign, an in-place op)"
    if any(getattr(eq.prim, "mutates", False) for eq in interp.eqns):
        return "it runs an optimizer step (an in-place update of parameters)"
    for t, g0, d0 in log.pre_grads:
        if t.grad is not g0 or (g0 is not None and g0._data is not d0):
            return f"it sets the .grad of a parameter of shape {tuple(t.shape)}"
    return log.problem


def _state_error(what: str, why: str) -> Exception:
    return NotImplementedError(
        f"jit: a {what} writes state: {why}. Inside cr.jit each {what} is traced once into a "
        "sub-program, which does not write state at every call. Compute the new value inside and "
        "write it outside, e.g. v.assign(cr.cond(p, lambda: v + 1.0, lambda: v * 1.0)), or run "
        "the function without jit."
    )


# ---------------------------------------------------------------------- sub-programs
class Sub:
    """A traced function of flat arrays: its program (after the passes) and its replay."""

    __slots__ = ("program", "_run", "_quiet", "in_avals", "out_avals", "effects")

    def __init__(self, program: Program, in_avals: list[Any], out_avals: list[Any]) -> None:
        self.program = program
        self._run = program.compile()
        self._quiet: Any = None
        self.in_avals = in_avals
        self.out_avals = out_avals
        self.effects = _has_effects(program)

    def run(self, *arrays: Any) -> tuple[Any, ...]:
        """The outputs on ``arrays``; host callbacks run, except while a trace computes values."""
        if self.effects and _LOCAL.quiet:
            if self._quiet is None:
                quiet = self.program.copy()
                quiet.eqns = [eq for eq in quiet.eqns if type(eq.prim) is not _Effect]
                self._quiet = quiet.compile()
            return self._quiet(*arrays)
        return self._run(*arrays)


class _Local(threading.local):
    def __init__(self) -> None:
        #: True while a control op runs to give a trace its values: its callbacks wait for the
        #: replays (as a callback outside control flow does).
        self.quiet = False


_LOCAL = _Local()


def _has_effects(prog: Program) -> bool:
    return any(getattr(eq.prim, "effect", False) or getattr(eq.prim, "has_effects", False)
               for eq in prog.eqns)  # fmt: skip


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _example(x: Any) -> np.ndarray:
    return np.asarray(_raw(x))


def enclosing_tracks(parent: Sequence[Any], a: Any) -> bool:
    """Whether ``a`` is a value of an enclosing trace (an input the sub-program must take)."""
    if isinstance(a, Traced):
        return True
    for interp in parent:
        if interp.tracks(a):
            return True
        if type(interp) is _Tracing and interp.parent is not None and interp.is_dynamic(a):
            return True
    return False


def strict_check(interp: _Tracing, prim: Any, args: tuple[Any, ...], params: dict[str, Any], data: Any) -> None:
    """In a sub-trace: refuse a traced array read into ``params``; make ``data`` read-only.

    An index made from a traced tensor (``x[i]``) is its array itself when that array is
    read-only (``normalize_index`` copies only writeable ones), so a read shows up here.
    """
    if params:
        leaked = _find_slot_array(interp, params)
        if leaked is not None:
            raise _Leak(
                f"jit: the value of a traced tensor (shape {leaked.shape}, {leaked.dtype}) was "
                f"read into the settings of {prim.name} (an index x[i], a mask) at {_user_line()}; "
                "a sub-program of cond/fori_loop is traced once and cannot take it as a constant"
            )
    if isinstance(data, _ndarray) and data.flags.owndata and data.flags.writeable:
        if not any(_raw(a) is data for a in args):
            data.flags.writeable = False


def _find_slot_array(interp: _Tracing, v: Any) -> Any:
    if isinstance(v, _ndarray):
        return v if id(v) in interp.slots and not v.flags.writeable else None
    if isinstance(v, (tuple, list)):
        for x in v:
            r = _find_slot_array(interp, x)
            if r is not None:
                return r
    elif isinstance(v, dict):
        return _find_slot_array(interp, list(v.values()))
    elif isinstance(v, slice):
        return _find_slot_array(interp, [v.start, v.stop, v.step])
    return None


def trace_sub(fun: Callable[..., Sequence[Any]], examples: Sequence[Any], name: str,
              ) -> tuple[Sub, list[Tensor], list[np.ndarray]]:  # fmt: skip
    """Trace ``fun(*tensors) -> flat outputs`` on copies of ``examples`` into a :class:`Sub`.

    Returns the sub-program (inputs: one per example, then one per captured value), the
    captured tensors (values of enclosing traces, state) in order, and the outputs' values on
    the examples.
    """
    interp = _Tracing(name)
    interp.parent = state.stack
    inputs: list[int] = []
    args: list[Tensor] = []
    for ex in examples:
        data = np.array(_example(ex), copy=True)
        data.flags.writeable = False
        t = wrap_array(data)
        inputs.append(interp.new_slot(data))
        interp.mark(t)
        args.append(t)
    saved, grad_mode = state.stack, state.grad_enabled
    set_stack(())
    push(interp)
    # The branch is traced as a function of its inputs: nothing outside records it (its
    # derivative is the control op's rule), and values nobody sees raise no warnings.
    state.grad_enabled = False
    try:
        with np.errstate(all="ignore"):
            outs = list(fun(*args))
        why = _state_written(interp)
        if why is not None:
            raise _StateWrite(why)
        outputs: list[Any] = []
        out_avals: list[Any] = []
        values: list[np.ndarray] = []
        for leaf in outs:
            if isinstance(leaf, Tensor) or isinstance(leaf, _ndarray):
                s = interp.slot_of(leaf)
                data = np.asarray(_raw(leaf))
                if s is None and isinstance(leaf, Tensor) and interp.is_dynamic(leaf):
                    # A value of an enclosing trace returned as it is: an input, not a constant.
                    s = interp.capture(leaf)
            else:
                s = None
                data = np.asarray(leaf)
            outputs.append(Const(np.array(data, copy=True)) if s is None else s)
            out_avals.append((tuple(data.shape), data.dtype))
            values.append(data)
    finally:
        set_stack(saved)
        state.grad_enabled = grad_mode
        interp.state.restore()  # (what tracing wrote into state: not written by this trace)
        for ref in interp.traced:
            t = ref()
            if t is not None:
                t.__class__ = _Escaped
    if interp.opaque is not None:
        raise _Opaque(interp.opaque)
    in_avals = [interp.avals[s] for s in inputs] + [interp.avals[s] for s in interp.capture_slots]
    program = Program(inputs + interp.capture_slots, interp.eqns, outputs, interp.avals, name)
    return Sub(program.optimized(), in_avals, out_avals), list(interp.captures), values


def _with_inputs(sub: Sub, avals: list[Any]) -> Sub:
    """``sub`` taking ``avals`` extra (unused) inputs at the end."""
    prog = sub.program.copy()
    avals_map = dict(prog.avals)
    start = max([*avals_map, *prog.inputs, -1]) + 1
    extra = list(range(start, start + len(avals)))
    for s, av in zip(extra, avals):
        avals_map[s] = av
    prog.inputs = prog.inputs + extra
    prog.avals = avals_map
    return Sub(prog, sub.in_avals + list(avals), sub.out_avals)


def _reorder_inputs(sub: Sub, n_fixed: int, mine: list[int], total: int, cap_avals: list[Any]) -> Sub:
    """``sub`` whose captured inputs (after the ``n_fixed`` first) are ``mine`` (positions in a
    list of ``total`` captures shared by several sub-programs): every capture an input."""
    prog = sub.program.copy()
    avals_map = dict(prog.avals)
    fixed = prog.inputs[:n_fixed]
    own = prog.inputs[n_fixed:]
    start = max([*avals_map, *prog.inputs, -1]) + 1
    slots = []
    for k in range(total):
        if k in mine:
            slots.append(own[mine.index(k)])
        else:
            avals_map[start] = cap_avals[k]
            slots.append(start)
            start += 1
    prog.inputs = fixed + slots
    prog.avals = avals_map
    return Sub(prog, sub.in_avals[:n_fixed] + list(cap_avals), sub.out_avals)


def _replay_list(sub: Sub, *args: Any) -> list[Any]:
    return replay_bind(sub, args)


def replay_bind(sub: Sub, args: Sequence[Any]) -> list[Any]:
    """Run ``sub`` through ``bind`` (so transforms see each primitive); host callbacks skipped."""
    prog = sub.program
    env: dict[int, Any] = {}
    for s, x in zip(prog.inputs, args):
        env[s] = x if isinstance(x, Tensor) else wrap_array(np.asarray(x))
    for eq in prog.eqns:
        if type(eq.prim) is _Effect:
            continue
        ins = [r.value if isinstance(r, Const) else env[r] for r in eq.ins]
        replay = getattr(eq.prim, "replay_bind", None)  # (a control op, an op with a traced index)
        env[eq.out] = bind(eq.prim, *ins, **eq.params) if replay is None else replay(*ins, **eq.params)
    return [wrap_array(np.array(r.value, copy=True)) if isinstance(r, Const) else env[r] for r in prog.outputs]


# ---------------------------------------------------------------------- packing
def _diff_kind(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


class _Group:
    """Values that travel as one array: float ones packed flat at a common dtype."""

    __slots__ = ("idx", "dtype", "shapes", "dtypes", "sizes", "whole", "diff")

    def __init__(self, idx: list[int], avals: list[Any]) -> None:
        self.idx = idx
        self.shapes = [tuple(avals[i][0]) for i in idx]
        self.dtypes = [np.dtype(avals[i][1]) for i in idx]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.dtype = np.result_type(*self.dtypes) if idx else np.dtype(np.float64)
        # One value of the packing dtype travels as it is.
        self.whole = len(idx) == 1 and self.dtypes[0] == self.dtype
        self.diff = bool(idx) and _diff_kind(self.dtype)

    @property
    def aval(self) -> tuple[tuple[int, ...], np.dtype]:
        if self.whole:
            return self.shapes[0], self.dtype
        return (sum(self.sizes),), self.dtype


def _groups(avals: list[Any], idx: Sequence[int]) -> list[_Group]:
    """Float values by kind (real, complex), the others by dtype."""
    keys: dict[Any, list[int]] = {}
    for i in idx:
        dt = np.dtype(avals[i][1])
        key = dt.kind if _diff_kind(dt) else dt.str
        keys.setdefault(key, []).append(i)
    order = sorted(keys, key=lambda k: (k not in ("f", "c"), k))
    return [_Group(keys[k], avals) for k in order]


def _pack(values: list[Any], g: _Group) -> Any:
    """The group's values as one array, with differentiable primitives (raw arrays stay raw)."""
    if g.whole:
        return values[0]
    reshape, astype, concat = registry["reshape"], registry["astype"], registry["concat2"]
    parts = []
    for v, dt in zip(values, g.dtypes):
        if dt != g.dtype:
            v = astype(v, dtype=g.dtype)
        parts.append(reshape(v, shape=(-1,)))
    if not parts:
        return np.zeros((0,), dtype=g.dtype)
    while len(parts) > 1:
        parts = [concat(parts[k], parts[k + 1], axis=0) if k + 1 < len(parts) else parts[k]
                 for k in range(0, len(parts), 2)]  # fmt: skip
    return parts[0]


def _unpack(packed: Any, g: _Group) -> list[Any]:
    if g.whole:
        return [packed]
    getitem, reshape, astype = registry["getitem"], registry["reshape"], registry["astype"]
    out = []
    offset = 0
    for shape, dt, size in zip(g.shapes, g.dtypes, g.sizes):
        piece = getitem(packed, index=(slice(offset, offset + size),))
        piece = reshape(piece, shape=shape)
        if dt != g.dtype:
            piece = astype(piece, dtype=dt)
        out.append(piece)
        offset += size
    return out


def _pack_raw(values: list[np.ndarray], g: _Group) -> np.ndarray:
    if g.whole:
        return np.array(values[0], dtype=g.dtype, copy=True)
    if not values:
        return np.zeros((0,), dtype=g.dtype)
    return np.concatenate([np.ravel(v).astype(g.dtype, copy=False) for v in values])


def _unpack_raw(packed: np.ndarray, g: _Group) -> list[np.ndarray]:
    if g.whole:
        return [packed]
    out = []
    offset = 0
    for shape, dt, size in zip(g.shapes, g.dtypes, g.sizes):
        piece = packed[offset: offset + size].reshape(shape)
        out.append(piece.astype(dt) if dt != g.dtype else piece)
        offset += size
    return out


# ---------------------------------------------------------------------- kernels
class _Kernel:
    """A control op on flat values: ``run`` on arrays, ``apply`` through primitives."""

    kind = "control"
    in_avals: list[Any]
    out_avals: list[Any]

    def run(self, arrays: list[Any]) -> list[Any]:
        raise NotImplementedError

    def vjp(self, args: list[Any], cts: list[Any], in_idx: list[int], out_idx: list[int]) -> list[Any]:
        """Cotangents of the inputs ``in_idx`` given those (``cts``) of the outputs ``out_idx``."""
        raise NotImplementedError

    def text(self, pad: str, counter: list[int]) -> list[str]:
        raise NotImplementedError

    @property
    def effects(self) -> bool:
        return False

    # ------------------------------------------------------------------ binding
    def _layout(self) -> tuple[list[_Group], list[int], list[tuple[_Group, _ControlPrimitive]]]:
        layout = getattr(self, "_cached_layout", None)
        if layout is None:
            n_in = len(self.in_avals)
            in_groups = [g for g in _groups(self.in_avals, range(n_in)) if g.diff]
            packed = {i for g in in_groups for i in g.idx}
            others = [i for i in range(n_in) if i not in packed]
            out_groups = _groups(self.out_avals, range(len(self.out_avals)))
            if not out_groups:
                # Nothing comes out (a branch run for its callbacks): one empty output.
                out_groups = [_Group([], self.out_avals)]
            # Callbacks inside run with the first group's op only (the others run it again).
            prims = [(g, _ControlPrimitive(self, in_groups, others, g, quiet=k > 0))
                     for k, g in enumerate(out_groups)]  # fmt: skip
            layout = self._cached_layout = (in_groups, others, prims)
        return layout

    def inline(self, args: Sequence[Any]) -> list[Any]:
        """The outputs on ``args`` computed op by op through ``bind`` (no control op)."""
        raise NotImplementedError

    def apply(self, args: Sequence[Any]) -> list[Any]:
        """The outputs on ``args`` (Tensors or arrays), through one primitive per output group.

        Under a forward-mode or batching level (which would need rules the control op lacks),
        the sub-programs are replayed op by op instead: the chosen branch (both, selected with
        ``where``, if the predicate is traced or batched), the body once per step.
        """
        if not _sub_programs_allowed():
            return self.inline(args)
        in_groups, others, prims = self._layout()
        prim_args = [args[i] for i in others] + [_pack([args[i] for i in g.idx], g) for g in in_groups]
        outs: list[Any] = [None] * len(self.out_avals)
        saved = _LOCAL.quiet
        _LOCAL.quiet = saved or (self.effects and any(type(i) is _Tracing for i in state.stack))
        try:
            for g, prim in prims:
                y = bind(prim, *prim_args)
                for i, v in zip(g.idx, _unpack(y, g)):
                    outs[i] = v
        finally:
            _LOCAL.quiet = saved
        return outs


class _ControlPrimitive(Primitive):
    """One output group of a control op: a primitive made at trace time (not registered)."""

    #: jit may replay it: ``impl`` is a pure function of its inputs.
    replayable = True

    def __init__(self, kernel: _Kernel, in_groups: list[_Group], others: list[int], out: _Group,
                 quiet: bool = False) -> None:  # fmt: skip
        self.kernel = kernel
        self.in_groups = in_groups
        self.others = others
        self.out = out
        self.quiet = quiet
        self.has_effects = kernel.effects and not quiet
        nin = len(in_groups) + len(others)
        super().__init__(kernel.kind, self._impl, nin=nin, register=False, differentiable=out.diff,
                         grad_fn_name=f"{_camel(kernel.kind)}Backward0", complex_ok=True)  # fmt: skip
        rules: list[Any] = [None] * len(others) + [self._rule(k) for k in range(len(in_groups))]
        self.def_vjp(*rules)

    def _impl(self, *arrays: Any) -> np.ndarray:
        flat: list[Any] = [None] * len(self.kernel.in_avals)
        n = len(self.others)
        for i, a in zip(self.others, arrays[:n]):
            flat[i] = np.asarray(a)
        for g, a in zip(self.in_groups, arrays[n:]):
            for i, v in zip(g.idx, _unpack_raw(np.asarray(a), g)):
                flat[i] = v
        if self.quiet and not _LOCAL.quiet:
            _LOCAL.quiet = True
            try:
                outs = self.kernel.run(flat)
            finally:
                _LOCAL.quiet = False
        else:
            outs = self.kernel.run(flat)
        return _pack_raw([outs[i] for i in self.out.idx], self.out)

    def _flat_inputs(self, inputs: tuple[Any, ...]) -> list[Any]:
        """The kernel's flat inputs from this op's (tensors or raw): the plain ones, then each
        packed group unpacked into its slots."""
        flat: list[Any] = [None] * len(self.kernel.in_avals)
        n = len(self.others)
        for i, a in zip(self.others, inputs[:n]):
            flat[i] = a
        for grp, a in zip(self.in_groups, inputs[n:]):
            for i, v in zip(grp.idx, _unpack(a, grp)):
                flat[i] = v
        return flat

    def _rule(self, k: int) -> Callable[..., Any]:
        group = self.in_groups[k]

        def control_vjp(g: Any, ans: Any, *inputs: Any) -> Any:
            flat = self._flat_inputs(inputs)
            cts = _unpack(g, self.out)
            got = self.kernel.vjp(flat, cts, list(group.idx), list(self.out.idx))
            return _pack(got, group)

        return control_vjp

    def replay_bind(self, *inputs: Any) -> Any:
        """``bind(self, *inputs)``, or, where the levels on the stack need rules this op lacks
        (forward mode, vmap: ``jit._replay_bind`` asks), the same value op by op."""
        if _sub_programs_allowed():
            return bind(self, *inputs)
        outs = self.kernel.inline(self._flat_inputs(inputs))
        return _pack([outs[i] for i in self.out.idx], self.out)

    def sub_text(self, pad: str, counter: list[int]) -> list[str]:
        """The sub-programs, as indented lines (``Program.as_text`` shows them under the op)."""
        return self.kernel.text(pad, counter)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _zeros(aval: Any) -> np.ndarray:
    return np.zeros(aval[0], dtype=aval[1])


def _vjp_sub(sub: Sub, in_idx: list[int], out_idx: list[int], examples: list[Any], name: str) -> Sub:
    """The VJP of ``sub``: inputs (``sub``'s, then cotangents of the outputs ``out_idx``),
    outputs the cotangents of the inputs ``in_idx``."""
    n = len(sub.in_avals)

    def pullback(*flat: Tensor) -> list[Any]:
        ins = list(flat[:n])
        cts = flat[n:]
        for i in in_idx:
            ins[i]._requires_grad = True
        state.grad_enabled = True
        outs = replay_bind(sub, ins)
        state.grad_enabled = False
        roots = []
        for j, ct in zip(out_idx, cts):
            y = outs[j]
            if isinstance(y, Tensor) and y._requires_grad:
                roots.append((y, ct))
        grads: list[Any] = [None] * len(in_idx)
        if roots:
            grads = backprop(roots, targets=[ins[i] for i in in_idx])
        return [_zeros(sub.in_avals[i]) if gr is None else gr for i, gr in zip(in_idx, grads)]

    vsub, caps, _ = trace_sub(pullback, examples, name)
    if caps:
        raise RuntimeError(f"jit: the VJP of {name} read values from outside its inputs (internal error)")
    return vsub


# ---------------------------------------------------------------------- cond / switch
class _CondKernel(_Kernel):
    """``branches[index](*operands)``; input 0 is the predicate (``cond``) or index (``switch``)."""

    def __init__(self, mode: str, branches: list[Sub], index_aval: Any, examples: list[Any]) -> None:
        self.kind = mode
        #: Values of the inputs (after the index) the branches were traced with: both branches
        #: ran on them, so the derivatives are traced on them too (not on values met later,
        #: which the branch not taken may not accept, a singular matrix say).
        self.examples = [_example(e) for e in examples]
        self.mode = mode
        self.branches = branches
        self.in_avals = [index_aval] + list(branches[0].in_avals)
        self.out_avals = list(branches[0].out_avals)
        self._vjps: dict[Any, _CondKernel] = {}

    @property
    def effects(self) -> bool:
        return any(b.effects for b in self.branches)

    def pick(self, index: Any) -> int:
        if self.mode == "cond":
            return 1 if bool(np.asarray(index).reshape(())) else 0
        return int(np.clip(int(np.asarray(index).reshape(())), 0, len(self.branches) - 1))

    def run(self, arrays: list[Any]) -> list[Any]:
        sub = self.branches[self.pick(arrays[0])]
        return list(sub.run(*arrays[1:]))

    def inline(self, args: Sequence[Any]) -> list[Any]:
        from chainrule.transforms.batching import BatchedTensor

        index = args[0]
        funs = [functools.partial(_replay_list, b) for b in self.branches]
        if isinstance(index, BatchedTensor) or _is_traced(index):
            names = [f"branch {k}" for k in range(len(funs))]
            funs = funs if self.mode == "switch" else funs
            return list(_select(self.mode, index, funs, names, tuple(args[1:]), self.mode))
        return funs[self.pick(_raw(index))](*args[1:])

    def vjp(self, args: list[Any], cts: list[Any], in_idx: list[int], out_idx: list[int]) -> list[Any]:
        key = (tuple(in_idx), tuple(out_idx))
        kernel = self._vjps.get(key)
        if kernel is None:
            examples = self.examples + [_example(c) for c in cts]
            subs = [_vjp_sub(b, [i - 1 for i in in_idx], out_idx, examples, f"vjp_branch{k}")
                    for k, b in enumerate(self.branches)]  # fmt: skip
            kernel = self._vjps[key] = _CondKernel(self.mode, subs, self.in_avals[0], examples)
        return kernel.apply([args[0], *args[1:], *cts])

    def text(self, pad: str, counter: list[int]) -> list[str]:
        lines = [f"{pad}branches=("]
        for b in self.branches:
            lines.extend(b.program.text_lines(pad + "  ", counter))
        lines.append(f"{pad})")
        return lines


def _is_traced(x: Any) -> bool:
    """Whether ``x`` is a value of a jit trace under way (its own or an enclosing one's)."""
    if not isinstance(x, Tensor):
        return False
    if isinstance(x, Traced):
        return True
    for interp in state.stack:
        if type(interp) is _Tracing and (interp.tracks(x) or (interp.parent is not None and interp.is_dynamic(x))):
            return True
    return False


def _sub_programs_allowed() -> bool:
    """Whether control flow may become one op: only jit levels (and tapes) on the stack; a
    vmap, jvp or jet level above the trace would need batching/forward rules the op lacks."""
    from chainrule.tape import GradientTape

    return all(type(i) is _Tracing or isinstance(i, GradientTape) for i in state.stack)


def _flat_operands(operands: tuple[Any, ...]) -> tuple[list[Any], Any, list[int]]:
    """Leaves of the operands, their tree, and the positions of the array leaves."""
    leaves, tree = flatten(operands)
    arrays = [k for k, leaf in enumerate(leaves) if isinstance(leaf, (Tensor, _ndarray, np.generic))]
    return leaves, tree, arrays


def _check_same(what: str, names: Sequence[str], trees: list[Any], avals: list[list[Any]]) -> None:
    for name, tree, av in zip(names[1:], trees[1:], avals[1:]):
        if tree != trees[0]:
            raise TypeError(
                f"{what}: the branches return different structures: {names[0]} gives {trees[0]!r} and "
                f"{name} gives {tree!r}; every branch must return the same structure"
            )
        for k, (a, b) in enumerate(zip(avals[0], av)):
            if tuple(a[0]) != tuple(b[0]) or np.dtype(a[1]) != np.dtype(b[1]):
                raise TypeError(
                    f"{what}: the branches return different shapes/dtypes for output {k}: {names[0]} gives "
                    f"{tuple(a[0])} {np.dtype(a[1])} and {name} gives {tuple(b[0])} {np.dtype(b[1])}; "
                    "both must match (cast or reshape one branch's result)"
                )


def _trace_branches(what: str, funs: Sequence[Callable[..., Any]], names: Sequence[str],
                    operands: tuple[Any, ...]) -> tuple[list[Sub], list[Tensor], Any, list[Any]]:  # fmt: skip
    leaves, tree, arrays = _flat_operands(operands)
    examples = [leaves[k] for k in arrays]
    subs: list[Sub] = []
    caps: list[list[Tensor]] = []
    trees: list[Any] = []
    for fun, name in zip(funs, names):
        out_tree: list[Any] = []

        def flat_fun(*xs: Tensor, fun: Any = fun, out_tree: list[Any] = out_tree) -> list[Any]:
            full = list(leaves)
            for k, x in zip(arrays, xs):
                full[k] = x
            out_leaves, odef = flatten(fun(*unflatten(tree, full)))
            out_tree.append(odef)
            return out_leaves

        sub, cap, _ = trace_sub(flat_fun, examples, name)
        subs.append(sub)
        caps.append(cap)
        trees.append(out_tree[0])
    _check_same(what, names, trees, [s.out_avals for s in subs])
    # One list of captured values for all branches; each branch takes all of them.
    shared: list[Tensor] = []
    for cap in caps:
        for t in cap:
            if not any(t is s for s in shared):
                shared.append(t)
    cap_avals = [(tuple(t._data.shape), t._data.dtype) for t in shared]
    n_fixed = len(arrays)
    aligned = []
    for sub, cap in zip(subs, caps):
        mine = [next(j for j, s in enumerate(shared) if s is t) for t in cap]
        aligned.append(_reorder_inputs(sub, n_fixed, mine, len(shared), cap_avals))
    return aligned, shared, trees[0], [leaves[k] for k in arrays]


def _select(what: str, index: Any, funs: Sequence[Callable[..., Any]], names: Sequence[str],
            operands: tuple[Any, ...], mode: str) -> Any:  # fmt: skip
    """Today's way, and JAX's for a batched predicate: run every branch, select with ``where``."""
    from chainrule.ops.binary import where

    interp = next((i for i in reversed(state.stack) if type(i) is _Tracing), None)
    before = None if interp is None else (dict(interp.state.writes), len(interp.eqns))
    results = [flatten(f(*operands)) for f in funs]
    if interp is not None:
        # Every branch ran: a state write in one would happen whichever is chosen.
        new_updates = any(getattr(eq.prim, "mutates", False) for eq in interp.eqns[before[1]:])
        if interp.state.writes != before[0] or new_updates:
            raise _state_error(f"{what} branch", "a branch wrote into a Variable or parameter")
    avals = [[(np.shape(_raw_or_array(x)), _raw_or_array(x).dtype) for x in leaves] for leaves, _ in results]
    _check_same(what, names, [t for _, t in results], avals)
    if mode == "cond":
        out = [where(index, a, b) for b, a in zip(results[0][0], results[1][0])]
        return unflatten(results[0][1], out)
    n = len(funs)
    out = list(results[0][0])
    for k in range(1, n):
        chosen = (index >= k) if k == n - 1 else (index == k)
        out = [where(chosen, a, b) for a, b in zip(results[k][0], out)]
    return unflatten(results[0][1], out)


def _raw_or_array(x: Any) -> np.ndarray:
    return np.asarray(x._data if isinstance(x, Tensor) else x)


def _scalar_pred(what: str, pred: Any, kind: str) -> None:
    shape = tuple(pred.shape) if isinstance(pred, Tensor) else np.shape(pred)
    if shape != ():
        raise ValueError(
            f"{what}: the {kind} must be a scalar, got shape {shape}; reduce it first (cr.any, "
            "cr.all, indexing), or use cr.where for an elementwise choice"
        )


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (JAX's ``lax.cond``).

    With a concrete ``pred`` (outside jit, or a static value) only the chosen branch runs, as a
    Python ``if`` would. Inside :func:`~chainrule.jit` with a traced scalar ``pred``, each
    branch is traced once into a sub-program and the program holds one ``cond`` op that runs
    the chosen branch only, at every call: the other branch's work is not done, and its values
    (a NaN, an infinity) cannot reach the result or its gradient. Both branches must return the
    same structure, shapes and dtypes. Values the branches close over are inputs of the op, so
    gradients reach them too; ``grad`` of a ``cond`` is a ``cond`` of the branches' gradients.

    A batched ``pred`` (inside ``vmap``) runs both branches and selects with ``where``, as JAX
    does; inside ``vmap``, ``jvp`` or ``jet`` within jit, so does a traced one.

    >>> import chainrule as cr
    >>> f = cr.jit(lambda p, x: cr.cond(p > 0, lambda v: v * 2.0, lambda v: -v, x))
    >>> f(cr.tensor(1.0), cr.tensor([1.0, 2.0])), f(cr.tensor(-1.0), cr.tensor([1.0, 2.0]))
    (tensor([2., 4.], dtype=float64), tensor([-1., -2.], dtype=float64))
    >>> print(f.lower(cr.tensor(1.0), cr.tensor([1.0, 2.0])).as_text())
    { lambda ; a:f64[] b:f64[2]. let
        c:bool[] = greater a 0
        d:f64[2] = cond[
          branches=(
            { lambda ; e:f64[2]. let
                f:f64[2] = neg e
              in (f,) }
            { lambda ; g:f64[2]. let
                h:f64[2] = mul g 2.0
              in (h,) }
          )
        ] c b
      in (d,) }
    """
    return _choose("cond", "predicate", pred, [false_fun, true_fun], ["false_fun", "true_fun"], operands)


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)`` (JAX's ``lax.switch``); ``index`` is clamped to the range.

    Like :func:`cond`: a concrete index calls one branch; a traced one (inside jit) makes one
    ``switch`` op that runs the chosen branch's sub-program only.

    >>> import chainrule as cr
    >>> fns = [lambda v: v + 1.0, lambda v: v * 10.0, lambda v: -v]
    >>> f = cr.jit(lambda i, x: cr.switch(i, fns, x))
    >>> [float(f(cr.tensor(k), cr.tensor(2.0))) for k in (0, 1, 2, 7)]
    [3.0, 20.0, -2.0, -2.0]
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError(f"switch: branches must be a non-empty sequence of functions, got {branches!r}")
    names = [f"branches[{k}]" for k in range(len(branches))]
    return _choose("switch", "index", index, branches, names, operands)


def _choose(what: str, kind: str, index: Any, funs: list[Callable[..., Any]], names: list[str],
            operands: tuple[Any, ...]) -> Any:  # fmt: skip
    from chainrule.transforms.batching import BatchedTensor

    if isinstance(index, BatchedTensor):
        _scalar_pred(what, index, kind)
        if what == "switch" and index.dtype.kind not in "iu":
            raise TypeError(f"switch: the index must be an integer, got dtype {index.dtype}")
        return _select(what, index, funs, names, operands, what)
    if not _is_traced(index):
        p = index
        if isinstance(p, Tensor):
            if p.size != 1:
                raise ValueError(f"{what}: the {kind} must be a scalar, got shape {tuple(p.shape)}")
            p = p._data.reshape(())
        if what == "cond":
            return funs[1](*operands) if p else funs[0](*operands)
        k = int(p)
        return funs[min(max(k, 0), len(funs) - 1)](*operands)
    _scalar_pred(what, index, kind)
    if what == "switch" and index.dtype.kind not in "iub":
        raise TypeError(f"switch: the index must be an integer, got dtype {index.dtype}")
    if _sub_programs_allowed():
        try:
            subs, caps, out_tree, arrays = _trace_branches(what, funs, names, operands)
        except _StateWrite as exc:
            raise _state_error(f"{what} branch", str(exc)) from None
        except (_Leak, _Opaque):
            pass
        else:
            index_aval = (tuple(index.shape), index.dtype)
            kernel = _CondKernel(what, subs, index_aval, [*arrays, *caps])
            outs = kernel.apply([index, *arrays, *caps])
            return unflatten(out_tree, [o if isinstance(o, Tensor) else wrap_array(np.asarray(o)) for o in outs])
    return _select(what, index, funs, names, operands, what)


# ---------------------------------------------------------------------- fori_loop
class _ScanKernel(_Kernel):
    """A loop over ``n`` steps (JAX's scan): ``carry, y = body(i, *consts, *carry, *x)``.

    Inputs: the constants (read at every step), the initial carry, the stacked ``xs`` (leading
    axis ``n``); outputs: the final carry, the stacked ``ys``. Step ``k`` gets ``i = lower + k``
    and ``x = xs[k]``; ``reverse`` runs the steps from the last.
    """

    def __init__(self, kind: str, body: Sub, n: int, lower: int, nconst: int, ncarry: int,
                 nxs: int, reverse: bool, examples: list[Any]) -> None:  # fmt: skip
        self.kind = kind
        #: Values of the inputs the body was traced with (see _CondKernel.examples).
        self.examples = [_example(e) for e in examples]
        self.body = body
        self.n = n
        self.lower = lower
        self.nconst, self.ncarry, self.nxs = nconst, ncarry, nxs
        self.reverse = reverse
        b_in = body.in_avals[1:]
        consts, carry, x = b_in[:nconst], b_in[nconst:nconst + ncarry], b_in[nconst + ncarry:]
        ys = body.out_avals[ncarry:]
        self.in_avals = consts + carry + [((n, *s), d) for s, d in x]
        self.out_avals = list(body.out_avals[:ncarry]) + [((n, *s), d) for s, d in ys]
        self._indices = [np.asarray(lower + k, dtype=_INDEX) for k in range(n)]
        self._res: _ScanKernel | None = None
        self._back: dict[Any, _ScanKernel] = {}

    @property
    def effects(self) -> bool:
        return self.body.effects

    def run(self, arrays: list[Any]) -> list[Any]:
        nc, nk = self.nconst, self.ncarry
        consts = list(arrays[:nc])
        carry = list(arrays[nc:nc + nk])
        xs = arrays[nc + nk:]
        ys = [np.empty(s, dtype=d) for s, d in self.out_avals[nk:]]
        run = self.body.run
        idx = self._indices
        for k in (range(self.n - 1, -1, -1) if self.reverse else range(self.n)):
            outs = run(idx[k], *consts, *carry, *[x[k] for x in xs])
            carry = list(outs[:nk])
            for y, o in zip(ys, outs[nk:]):
                y[k] = o
        return [np.asarray(c) for c in carry] + ys

    def inline(self, args: Sequence[Any]) -> list[Any]:
        from chainrule.ops.shape import stack

        nc, nk = self.nconst, self.ncarry
        consts = list(args[:nc])
        carry = list(args[nc:nc + nk])
        xs = list(args[nc + nk:])
        getitem = registry["getitem"]
        ys: list[list[Any]] = [[None] * self.n for _ in self.out_avals[nk:]]
        for k in (range(self.n - 1, -1, -1) if self.reverse else range(self.n)):
            x_k = [getitem(x, index=(k,)) for x in xs]
            outs = replay_bind(self.body, [self._indices[k], *consts, *carry, *x_k])
            carry = list(outs[:nk])
            for y, o in zip(ys, outs[nk:]):
                y[k] = o
        return carry + [stack(y) for y in ys]

    # ------------------------------------------------------------------ reverse mode
    def _residuals(self, args: list[Any]) -> _ScanKernel:
        """The same loop, whose ys are the carries each step starts from."""
        if self._res is None:
            body, nk = self.body, self.ncarry
            nc = self.nconst

            def with_carries(*flat: Tensor) -> list[Any]:
                outs = replay_bind(body, flat)
                return list(outs[:nk]) + list(flat[1 + nc:1 + nc + nk])

            sub, caps, _ = trace_sub(with_carries, self._step_examples(), f"{self.kind}_residuals")
            self._res = _ScanKernel(f"{self.kind}_residuals", sub, self.n, self.lower, nc, nk,
                                    self.nxs, self.reverse, self.examples)  # fmt: skip
        return self._res

    def _step_examples(self) -> list[Any]:
        """The body's inputs at the first step, on the values the loop was traced with."""
        nc, nk = self.nconst, self.ncarry
        k = self.n - 1 if self.reverse else 0
        ex = self.examples
        return [self._indices[k], *ex[:nc + nk], *[x[k] for x in ex[nc + nk:]]]

    def vjp(self, args: list[Any], cts: list[Any], in_idx: list[int], out_idx: list[int]) -> list[Any]:
        nc, nk = self.nconst, self.ncarry
        res = self._residuals(args).apply(args)
        carries = res[nk:]  # carries[j][k]: carry j as step k starts
        # Every float carry carries a cotangent back (an output's may flow through any of them).
        dcarry = [j for j in range(nk) if _diff_kind(self.in_avals[nc + j][1])]
        dconst = [i for i in in_idx if i < nc]
        dxs = [i - nc - nk for i in in_idx if i >= nc + nk]
        ct_of = dict(zip(out_idx, cts))
        ct_carry = [ct_of.get(j, None) for j in dcarry]
        ct_carry = [_zeros(self.out_avals[j]) if c is None else c for j, c in zip(dcarry, ct_carry)]
        oys = [j for j in out_idx if j >= nk]
        ct_ys = [ct_of[j] for j in oys]
        acc = [_zeros(self.in_avals[i]) for i in dconst]
        consts = list(args[:nc])
        xs = list(args[nc + nk:])
        key = (tuple(in_idx), tuple(out_idx))
        back = self._back.get(key)
        if back is None:
            back = self._back[key] = self._backward(ct_carry, acc, ct_ys, dcarry, dconst, dxs, oys)
        outs = back.apply([*consts, *ct_carry, *acc, *carries, *xs, *ct_ys])
        ct_c0 = dict(zip(dcarry, outs[:len(dcarry)]))
        acc_out = dict(zip(dconst, outs[len(dcarry):len(dcarry) + len(dconst)]))
        ct_xs = dict(zip(dxs, outs[len(dcarry) + len(dconst):]))
        result = []
        for i in in_idx:
            if i < nc:
                result.append(acc_out[i])
            elif i < nc + nk:
                result.append(ct_c0[i - nc])
            else:
                result.append(ct_xs[i - nc - nk])
        return result

    def _backward(self, ct_carry: list[Any], acc: list[Any], ct_ys: list[Any], dcarry: list[int],
                  dconst: list[int], dxs: list[int], oys: list[int]) -> _ScanKernel:  # fmt: skip
        """The loop run the other way: carry (carry cotangents, constants' cotangent sums),
        xs (the carries of the forward steps, the xs, the ys' cotangents), ys the xs' cotangents."""
        body = self.body
        nc, nk, nx = self.nconst, self.ncarry, self.nxs
        nd, na, ny = len(dcarry), len(dconst), len(oys)
        # The body's inputs (after i) with a cotangent, and its outputs that receive one.
        diff_in = [1 + i for i in dconst] + [1 + nc + j for j in dcarry] + [1 + nc + nk + m for m in dxs]
        diff_out = list(dcarry) + list(oys)

        def step(i: Tensor, *flat: Tensor) -> list[Any]:
            consts = list(flat[:nc])
            ct_c = list(flat[nc:nc + nd])
            acc_in = list(flat[nc + nd:nc + nd + na])
            rest = flat[nc + nd + na:]
            c_k = list(rest[:nk])
            x_k = list(rest[nk:nk + nx])
            ct_y = list(rest[nk + nx:nk + nx + ny])
            ins = [i, *consts, *c_k, *x_k]
            for p in diff_in:
                ins[p]._requires_grad = True
            state.grad_enabled = True
            outs = replay_bind(body, ins)
            state.grad_enabled = False
            roots = []
            for j, ct in zip(diff_out, ct_c + ct_y):
                y = outs[j]
                if isinstance(y, Tensor) and y._requires_grad:
                    roots.append((y, ct))
            grads: list[Any] = [None] * len(diff_in)
            if roots:
                grads = backprop(roots, targets=[ins[p] for p in diff_in])
            grads = [_zeros(body.in_avals[p]) if g is None else g for p, g in zip(diff_in, grads)]
            g_const, g_carry, g_x = grads[:na], grads[na:na + nd], grads[na + nd:]
            return [*g_carry, *[a + g for a, g in zip(acc_in, g_const)], *g_x]

        # Traced on the values the loop was traced with: the carries of the forward steps are
        # stood for by the first step's (the body is known to accept it).
        ex = self.examples
        k = self.n - 1 if not self.reverse else 0  # the first step the backward loop runs
        consts, carry0, xs = ex[:nc], ex[nc:nc + nk], ex[nc + nk:]
        ct_c, acc0, ct_y = [_example(c) for c in ct_carry], [_example(a) for a in acc], [_example(c) for c in ct_ys]
        examples = [self._indices[k], *consts, *ct_c, *acc0, *carry0, *[x[k] for x in xs], *[c[k] for c in ct_y]]
        sub, caps, _ = trace_sub(step, examples, f"{self.kind}_vjp_body")
        if caps:
            raise RuntimeError(f"jit: the VJP of {self.kind} read values from outside its inputs (internal error)")
        stacked = [np.broadcast_to(c, (self.n, *np.shape(c))) for c in carry0]
        return _ScanKernel(f"{self.kind}_vjp", sub, self.n, self.lower, nc, nd + na, nk + nx + ny,
                           not self.reverse, [*consts, *ct_c, *acc0, *stacked, *xs, *ct_y])  # fmt: skip

    def text(self, pad: str, counter: list[int]) -> list[str]:
        head = f"{pad}lower={self.lower}, trips={self.n}" + (", reverse=True" if self.reverse else "")
        head += f", consts={self.nconst}, carry={self.ncarry}"
        if self.nxs:
            head += f", xs={self.nxs}"
        return [head + ",", f"{pad}body="] + self.body.program.text_lines(pad + "  ", counter)


def fori_loop(lower: int, upper: int, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns ``val``.

    JAX's ``lax.fori_loop``. The bounds must be Python ints (or static values); a traced bound
    raises. Outside jit this is a Python loop. Inside :func:`~chainrule.jit` the body is traced
    once into a sub-program and the program holds one ``fori_loop`` op that replays it
    ``upper - lower`` times (the program's size does not depend on the trip count). The carry
    ``val`` may be a pytree of tensors; ``body_fun`` must return the same structure, shapes and
    dtypes. Inside the body ``i`` is a traced int64 scalar: compute with it and index with it
    (``x[i]``); a body that needs its value in Python (``int(i)``, a shape, a mask) or writes
    state (``Variable.assign_add``) is unrolled instead, one traced body per iteration, as are
    loops under ``vmap``/``jvp`` levels inside jit.

    Reverse mode through the loop is exact: the loop runs forward again keeping each step's
    carry, then the body's VJP runs over the steps in reverse; second derivatives work.

    >>> import chainrule as cr
    >>> f = cr.jit(lambda x: cr.fori_loop(0, 3, lambda i, v: v * 2.0 + i, x))
    >>> f(cr.tensor(1.0))
    tensor(12., dtype=float64)
    >>> cr.jit(cr.grad(lambda x: cr.fori_loop(0, 3, lambda i, v: v * v, x)))(cr.tensor(1.5))
    tensor(136.6875, dtype=float64)
    """
    bounds = []
    for name, b in (("lower", lower), ("upper", upper)):
        if isinstance(b, Tensor):
            if _is_traced(b):
                raise ConcretizationError(
                    f"fori_loop: the {name} bound is a traced tensor; the number of iterations must "
                    "be known while tracing. Pass it as a Python int or mark it static "
                    "(cr.jit(f, static_argnums=...))."
                )
            if b.size != 1 or b.dtype.kind not in "iu":
                raise TypeError(f"fori_loop: the {name} bound must be an integer scalar, got {b!r}")
            b = int(b._data.reshape(()))
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)):
            raise TypeError(f"fori_loop: the {name} bound must be an int, got {type(b).__name__}")
        bounds.append(int(b))
    lo, hi = bounds
    if hi > lo and _loop_as_op():
        out = _fori_op(lo, hi, body_fun, init_val)
        if out is not _UNROLL:
            return out
    val = init_val
    for i in range(lo, hi):
        val = body_fun(i, val)
    return val


_UNROLL = object()


def _loop_as_op() -> bool:
    return any(type(i) is _Tracing for i in state.stack) and _sub_programs_allowed()


def _fori_op(lo: int, hi: int, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    leaves, tree = flatten(init_val)
    for leaf in leaves:
        if not isinstance(leaf, (Tensor, _ndarray, np.generic, int, float, complex, bool)):
            raise TypeError(
                f"fori_loop: the carry holds a {type(leaf).__name__}; its leaves must be tensors, "
                "arrays or numbers"
            )
    carry = [leaf if isinstance(leaf, Tensor) else np.asarray(leaf) for leaf in leaves]
    in_avals = [(tuple(np.shape(_raw(c))), _example(c).dtype) for c in carry]

    def flat_body(i: Tensor, *xs: Tensor) -> list[Any]:
        out = body_fun(i, unflatten(tree, list(xs)))
        out_leaves, out_tree = flatten(out)
        if out_tree != tree:
            raise TypeError(
                f"fori_loop: body_fun must return the carry's structure {tree!r}, got {out_tree!r}"
            )
        for k, (leaf, (shape, dtype)) in enumerate(zip(out_leaves, in_avals)):
            arr = _raw_or_array(leaf)
            if tuple(arr.shape) != shape or arr.dtype != dtype:
                raise TypeError(
                    f"fori_loop: body_fun must return the carry's shapes and dtypes; carry leaf {k} "
                    f"is {shape} {dtype} but the body returned {tuple(arr.shape)} {arr.dtype}. Give the "
                    "initial value the dtype the body computes (e.g. cr.tensor(0.0) rather than 0), "
                    "or cast in the body"
                )
        return out_leaves

    examples = [np.asarray(lo, dtype=_INDEX), *carry]
    try:
        sub, caps, _ = trace_sub(flat_body, examples, "body")
    except (_Leak, _Opaque, _StateWrite):
        # (A body that writes state is unrolled: each step's writes are the trace's own.)
        return _UNROLL
    # The body's inputs are (i, carry, captures); the kernel's constants come first.
    nk = len(carry)
    prog = sub.program.copy()
    prog.inputs = [prog.inputs[0], *prog.inputs[1 + nk:], *prog.inputs[1:1 + nk]]
    cap_avals = sub.in_avals[1 + nk:]
    body = Sub(prog, [sub.in_avals[0], *cap_avals, *sub.in_avals[1:1 + nk]], sub.out_avals)
    kernel = _ScanKernel("fori_loop", body, hi - lo, lo, len(caps), nk, 0, False, [*caps, *carry])
    outs = kernel.apply([*caps, *carry])
    return unflatten(tree, [o if isinstance(o, Tensor) else wrap_array(np.asarray(o)) for o in outs])

