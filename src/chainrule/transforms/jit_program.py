"""The program ``cr.jit`` traces: primitive applications on numbered slots, its passes, its replay.

A :class:`Program` is what tracing a function gives (see ``jit.py``): the input slots, a list of
:class:`Eqn` (one primitive applied to slots and constants, giving one new slot) and the outputs.
It is a plain list, like a jaxpr, so the passes are short loops:

- **simplify**: ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``, ``0 + x``, ``x - 0`` give ``x`` when
  the result has ``x``'s shape and dtype (exact in IEEE arithmetic, so nothing changes value),
  and so do a reshape, broadcast, ``sum_to`` or cast to the shape and dtype ``x`` already has;
  the seed of a gradient is a constant one, so the first step of every backward pass goes.
  Multiplications by zero arrays are *kept*: ``0 * inf`` is NaN in eager mode, and a jitted
  function computes what the function computes. (The engine never materialises symbolic zeros
  anyway: a missing cotangent is ``None`` and emits no op.)
- **fold**: an op whose inputs are all constants runs once, now (ops on constants only are
  already computed while tracing; this catches those the other passes expose).
- **cse**: the same primitive on the same inputs with the same settings is computed once.
- **dce**: ops no output depends on go (a gradient's program does not return the forward value).

Replay (:meth:`Program.compile`) turns the list into a flat list of steps run by one small loop:
each op calls its primitive's ``impl`` on arrays (no Tensor, no Node, no ``bind``), a value is
dropped right after its last use, and an elementwise NumPy ufunc writes into a dead input's
buffer (``out=``) when the arrays are large enough for the saved allocation to pay. Replay also
fuses what a hand-written NumPy step gets for free: a hard-label cross-entropy's backward
(``softmax - onehot``, seven ops in the rule) is one step in one buffer, and with the loss itself
one step giving both (the shift, ``exp`` and row sums once). It calls faster NumPy for the same
values: ``relu`` as ``maximum`` against an array of zeros (in place), a ``transpose`` read only by
a ``matmul`` folded into it, a bias gradient's ``sum_to`` as the one kernel its impl calls
(``sum_leading``). And when every gradient of such a loss only meets ``p - lr * g`` with one
constant ``lr`` (an SGD step), ``lr`` joins the loss gradient's scale and the weight-sized
multiplies go (:func:`_fold_step_size`: a rewrite that changes values, by float rounding, as
a compiler's reassociation would). Where Numba is installed, :func:`_fuse_kernels` then runs a
bias add with ReLU, and ReLU's mask with its product, as single fused loops (bit-identical), and
the fused cross-entropy step as one loop (equal to rounding): see :mod:`jit_kernels`. None of
this touches the program a transform replays through ``bind``. No code is generated or
``exec``'d; ``Program.source`` is a readable listing of the steps.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.core.primitive import VIEW_PRIMITIVES

__all__ = ["Const", "Eqn", "Program", "PASSES"]

_ndarray = np.ndarray

#: Arrays at least this large are written in place into a dead input's buffer (``out=``); below
#: it, NumPy's allocation is cheaper than the keyword call.
REUSE_MIN_SIZE = 4096


class Const:
    """A constant input of an op (a closed-over array, a Python number, a setting array)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Const({_short(self.value)})"


@dataclass
class Eqn:
    """``out = prim(*ins, **params)``; ``ins`` holds slot numbers (int) and :class:`Const`."""

    prim: Any
    ins: tuple[Any, ...]
    params: dict[str, Any]
    out: int
    shape: tuple[int, ...]
    dtype: np.dtype
    #: Where the op was bound in user code (file, line), for the see-inside tools.
    where: Any = None


@dataclass
class Program:
    """A traced function: inputs (slots), equations in order, outputs (slots or constants)."""

    inputs: list[int]
    eqns: list[Eqn]
    outputs: list[Any]
    #: (shape, dtype) of every slot.
    avals: dict[int, tuple[tuple[int, ...], np.dtype]]
    name: str = "f"
    #: How many ops each pass removed, in the order the passes ran.
    removed: dict[str, int] = field(default_factory=dict)
    source: str = ""

    def copy(self) -> Program:
        return Program(list(self.inputs), list(self.eqns), list(self.outputs), dict(self.avals),
                       self.name, dict(self.removed))  # fmt: skip

    # ------------------------------------------------------------------ passes
    def optimized(self) -> Program:
        """The program after every pass (run until none removes anything)."""
        prog = self.copy()
        prog.removed = {name: 0 for name, _ in PASSES}
        for _ in range(4):
            changed = False
            for name, run in PASSES:
                before = len(prog.eqns)
                prog = run(prog)
                gone = before - len(prog.eqns)
                prog.removed[name] += gone
                changed = changed or gone > 0
            if not changed:
                break
        return prog

    # ------------------------------------------------------------------ text
    def as_text(self, indent: int = 0) -> str:
        """One line per primitive, like a jaxpr: ``c:f64[16] = sin b``.

        A control-flow op (``cond``, ``fori_loop``: ``jit_control.py``) shows its sub-programs
        as indented blocks between ``op[`` and ``] args``, as a jaxpr shows
        ``cond[ branches=(...) ]``; their names continue the letters, as a jaxpr's do.
        """
        return "\n".join(self.text_lines(" " * indent, [0]))

    def text_lines(self, pad: str, counter: list[int]) -> list[str]:
        """``as_text``'s lines, indented by ``pad``; ``counter`` holds the next name's number."""
        names: dict[int, str] = {}

        def name(ref: Any) -> str:
            if isinstance(ref, Const):
                return _short(ref.value)
            if ref not in names:
                names[ref] = _letters(counter[0])
                counter[0] += 1
            return names[ref]

        ins = " ".join(f"{name(s)}:{_aval(*self.avals[s])}" for s in self.inputs)
        lines = [f"{pad}{{ lambda ; {ins}. let"]
        for eq in self.eqns:
            sub_text = getattr(eq.prim, "sub_text", None)
            if sub_text is not None:
                lines.append(f"{pad}    {name(eq.out)}:{_aval(eq.shape, eq.dtype)} = {eq.prim.name}[")
                lines.extend(sub_text(pad + "      ", counter))
                lines.append(f"{pad}    ] {' '.join(name(r) for r in eq.ins)}")
                continue
            args = " ".join(name(r) for r in eq.ins)
            settings = ""
            if eq.params:
                settings = "[" + ", ".join(f"{k}={_short(v)}" for k, v in eq.params.items()) + "]"
            lines.append(f"{pad}    {name(eq.out)}:{_aval(eq.shape, eq.dtype)} = {eq.prim.name}{settings} {args}")
        outs = ", ".join(name(r) for r in self.outputs)
        lines.append(f"{pad}  in ({outs},) }}")
        return lines

    def __str__(self) -> str:
        return self.as_text()

    # ------------------------------------------------------------------ replay
    def compile(self) -> Callable[..., tuple[Any, ...]]:
        """A function of the input arrays giving the output arrays: one ``impl`` call per op.

        The program becomes a flat list of steps run by one small loop: no Tensor, no node, no
        ``bind``, and no generated code (nothing is ``exec``'d). ``source`` keeps a readable
        listing of the same steps.
        """
        owner, self = self, _fuse_for_replay(self)  # (the listing goes on the unfused program)
        last_use: dict[int, int] = {}
        for k, eq in enumerate(self.eqns):
            for r in eq.ins:
                if not isinstance(r, Const):
                    last_use[r] = k
        outputs = {r for r in self.outputs if not isinstance(r, Const)}
        inputs = set(self.inputs)
        # Slots whose buffer this program allocated itself with a ufunc (fresh, writeable, no
        # alias): only those may be written over once dead.
        owned: set[int] = set()
        # A non-ufunc op may return a view of its input: such an input's buffer is never reused.
        aliased = {r for eq in self.eqns if not (_is_ufunc(eq) or _writes_out(eq)) for r in eq.ins
                   if not isinstance(r, Const)}  # fmt: skip
        used = [*self.inputs, *(eq.out for eq in self.eqns), *outputs,
                *(r for eq in self.eqns for r in eq.ins if not isinstance(r, Const))]  # fmt: skip
        size = max(used, default=-1) + 1
        # Constants get slots of their own after the program's, filled once.
        env0: list[Any] = [None] * size
        const_slot: dict[int, int] = {}

        def ref(r: Any) -> int:
            if isinstance(r, Const):
                key = id(r)
                if key not in const_slot:
                    const_slot[key] = len(env0)
                    env0.append(r.value)
                return const_slot[key]
            return r

        def name(i: int) -> str:
            return f"v{i}" if i < size else f"c{i - size}"

        steps: list[tuple[Any, ...]] = []
        lines = [f"def {_identifier(self.name)}({', '.join(f'v{s}' for s in self.inputs)}):"]
        for k, eq in enumerate(self.eqns):
            outs = getattr(eq.prim, "outs", None)
            if outs is not None:  # (a fused step giving several slots: a tuple, in that order)
                ins = tuple(ref(r) for r in eq.ins)
                dead = tuple(sorted({r for r in eq.ins if not isinstance(r, Const) and last_use.get(r) == k
                                     and r not in outputs and r not in inputs}))  # fmt: skip
                steps.append((eq.prim.impl, ins, dict(eq.params), tuple(outs), False, -1, dead))
                owned.update(getattr(eq.prim, "fresh", ()))
                lines.append(f"    {', '.join(name(o) for o in outs)} = {eq.prim.name}({', '.join(name(i) for i in ins)})")
                if dead:
                    lines.append(f"    del {', '.join(name(r) for r in dead)}")
                continue
            ins = tuple(ref(r) for r in eq.ins)
            ufunc = _is_ufunc(eq)
            buf = -1
            if (ufunc or _writes_out(eq)) and int(np.prod(eq.shape)) >= REUSE_MIN_SIZE:
                # (A fused kernel writes only into its first input: see jit_kernels.)
                for r in (eq.ins if ufunc else eq.ins[:1]):
                    if (not isinstance(r, Const) and r in owned and r not in aliased and last_use.get(r) == k
                            and r not in outputs and self.avals[r] == (eq.shape, eq.dtype)):  # fmt: skip
                        buf = r
                        break
            effect = bool(getattr(eq.prim, "effect", False))
            # NumPy gives scalars for 0-d results, and some impls give array-likes: the next impl
            # and the caller get arrays, as under bind.
            wrap = not effect and (eq.shape == () or not (ufunc or getattr(eq.prim, "gives_array", False)))
            dead = tuple(sorted({r for r in eq.ins if not isinstance(r, Const) and last_use.get(r) == k
                                 and r not in outputs and r not in inputs}))  # fmt: skip
            steps.append((eq.prim.impl, ins, dict(eq.params), -1 if effect else eq.out, wrap, buf, dead))
            settings = [f"{p}={v!r}" for p, v in eq.params.items()] + ([f"out={name(buf)}"] if buf >= 0 else [])
            call = f"{eq.prim.name}({', '.join([name(i) for i in ins] + settings)})"
            lines.append(f"    {call}" if effect else f"    {name(eq.out)} = {call}")
            if not effect and (ufunc or getattr(eq.prim, "gives_array", False)) and eq.prim not in VIEW_PRIMITIVES:
                owned.add(eq.out)
            if dead:
                lines.append(f"    del {', '.join(name(r) for r in dead)}")
        out_refs = tuple(ref(r) for r in self.outputs)
        lines.append(f"    return ({', '.join(name(i) for i in out_refs)}{',' if len(out_refs) == 1 else ''})")
        owner.source = self.source = "\n".join(lines) + "\n"
        in_slots = tuple(self.inputs)
        asarray = np.asarray

        # The common shapes of a step take a branch without building argument lists: one or two
        # inputs, no settings, no buffer (the loop below is the whole per-op cost of a replay).
        fast: list[tuple[Any, ...]] = []
        for fn, ins, params, out, wrap, buf, dead in steps:
            kind = 0
            if type(out) is tuple:
                kind = 3
            elif not params and buf < 0 and out >= 0 and not wrap and len(ins) in (1, 2):
                kind = len(ins)
            elif not params and out >= 0 and not wrap and len(ins) == 2:
                kind = 4  # (a binary ufunc into a dead input's buffer)
            fast.append((kind, fn, ins[0] if ins else -1, ins[1] if len(ins) > 1 else -1,
                         ins, params, out, wrap, buf, dead))  # fmt: skip

        def replay(*arrays: Any) -> tuple[Any, ...]:
            env = env0.copy()
            for slot, value in zip(in_slots, arrays):
                env[slot] = value
            for kind, fn, a, b, ins, params, out, wrap, buf, dead in fast:
                if kind == 2:
                    env[out] = fn(env[a], env[b])
                elif kind == 4:
                    env[out] = fn(env[a], env[b], out=env[buf])
                elif kind == 1:
                    env[out] = fn(env[a])
                elif kind == 3:
                    for slot, value in zip(out, fn(*[env[i] for i in ins])):
                        env[slot] = value
                else:
                    if buf >= 0:
                        result = fn(*[env[i] for i in ins], out=env[buf], **params)
                    else:
                        result = fn(*[env[i] for i in ins], **params)
                    if out >= 0:
                        env[out] = asarray(result) if wrap else result
                if dead:
                    for i in dead:
                        env[i] = None
            return tuple(env[i] for i in out_refs)

        replay.__name__ = replay.__qualname__ = _identifier(self.name)
        return replay


def _has_effect(prim: Any) -> bool:
    """A host callback, or a control-flow op with one inside: every pass keeps it."""
    return bool(getattr(prim, "effect", False) or getattr(prim, "has_effects", False))


# ---------------------------------------------------------------------- replay-only fusions
class _SoftmaxXentGrad:
    """``(softmax(v) - onehot(h)) * s`` in one buffer: the backward of a hard-label
    cross-entropy, which the rule spells as seven ops (log_softmax, exp, reshape, equal, astype,
    sub, mul). Replay only: a program replayed through ``bind`` (to be differentiated) keeps them."""

    effect = False

    def __init__(self, axis: int) -> None:
        self.axis = axis
        self.name = f"softmax_xent_grad[axis={axis}]"

    def impl(self, v: Any, h: Any, scale: Any) -> Any:
        from chainrule.ops.nn import _stable_shift

        axis = self.axis
        h = np.asarray(h)
        _nn().check_class_labels(h, v.shape, axis)
        d = v - _stable_shift(v, (axis,))
        np.exp(d, out=d)
        d /= np.sum(d, axis=axis, keepdims=True)
        if d.ndim == 2 and axis == 1:
            d[np.arange(d.shape[0]), h] -= 1
        else:
            idx = np.expand_dims(h, axis)
            np.put_along_axis(d, idx, np.take_along_axis(d, idx, axis=axis) - 1, axis=axis)
        d *= scale
        return d


class _XentWithGrad:
    """A hard-label cross-entropy and its :class:`_SoftmaxXentGrad` on the same logits and labels,
    in one step giving ``(loss, grad)``: the shift, ``exp`` and row sums are computed once (the
    eager forward and backward each compute them). Each result is what its own step computes, op
    for op, so the values are the same to the last bit; where Numba is there, one fused loop
    computes both instead, equal to float rounding (``jit_kernels.cross_entropy_with_grad``)."""

    effect = False

    def __init__(self, axis: int, reduction: str, outs: tuple[int, int]) -> None:
        self.axis = axis
        self.reduction = reduction
        self.outs = outs
        self.fresh = (outs[1],)  # (the gradient is a new buffer of this step's own)
        self.name = f"cross_entropy_and_grad[axis={axis}, reduction={reduction!r}]"
        self._starts: dict[tuple[int, int], np.ndarray] = {}
        #: Whether the step runs as one fused loop where it can (jit_kernels, with Numba),
        #: decided when the program is compiled.
        self.fused = _kernels().available()

    def impl(self, v: Any, h: Any, scale: Any) -> tuple[Any, Any]:
        if type(h) is not _ndarray:
            h = np.asarray(h)
        if self.fused and self.axis == 1:
            # One Numba loop (jit_kernels.cross_entropy_with_grad: equal to rounding); None for
            # what it does not take: bad labels, values that are not finite, other layouts.
            both = _kernels().cross_entropy_with_grad(v, h, scale, self.reduction)
            if both is not None:
                return both
        _nn().check_class_labels(h, v.shape, self.axis)
        if self.axis == 1 and v.ndim == 2 and v.shape[1] <= 64 and v.flags.c_contiguous:
            # The classifier's (batch, classes) logits: nn._stable_shift's own fast path without
            # its calls (a maximum is exact in any order), the target entries by their flat
            # positions (one index for the pick and the update), and the shift's finiteness
            # read from the loss: a non-finite shift makes its row's loss NaN, and a loss that
            # is not finite sends the call to the general path (which computes the same values
            # wherever the shift is finite), so a finite batch pays no separate check.
            n, c = v.shape
            z = v - np.maximum.reduce(np.ascontiguousarray(v.T), 0)[:, None]
            d = np.exp(z)
            total = np.add.reduce(d, 1, None, None, True)  # (what np.sum calls)
            at = self._flat_starts(n, c) + h
            losses = np.log(total)[:, 0] - z.take(at)
            whole = np.add.reduce(losses, None)
            if math.isfinite(whole):
                d /= total
                flat = d.ravel()
                flat[at] -= 1
                d *= scale
                if self.reduction == "none":
                    return losses, d
                loss = whole
                if self.reduction == "mean":
                    loss = whole / losses.size if losses.size else whole * np.nan
                return np.asarray(loss), d
        return self._general(v, h, scale)

    def _flat_starts(self, n: int, c: int) -> np.ndarray:
        starts = self._starts.get((n, c))
        if starts is None:
            starts = self._starts[(n, c)] = np.arange(0, n * c, c)
        return starts

    def _general(self, v: Any, h: Any, scale: Any) -> tuple[Any, Any]:
        axis = self.axis
        z = v - _nn()._stable_shift(v, (axis,))
        d = np.exp(z)
        total = np.add.reduce(d, axis=axis, keepdims=True)  # (what np.sum calls)
        if d.ndim == 2 and axis == 1 and d.flags.c_contiguous and z.flags.c_contiguous:
            at = self._flat_starts(*d.shape) + h
            losses = np.log(total)[:, 0] - z.ravel().take(at)
            d /= total
            flat = d.ravel()
            flat[at] -= 1
        else:
            losses = np.log(total).squeeze(axis) - _nn()._pick(z, h, axis)
            d /= total
            idx = np.expand_dims(h, axis)
            np.put_along_axis(d, idx, np.take_along_axis(d, idx, axis=axis) - 1, axis=axis)
        d *= scale
        if self.reduction == "none":
            return losses, d
        loss = np.add.reduce(losses, axis=None)
        if self.reduction == "mean":
            loss = loss / losses.size if losses.size else loss * np.nan
        return np.asarray(loss), d


def _kernels() -> Any:
    from chainrule.transforms import jit_kernels

    return jit_kernels


def _nn() -> Any:
    from chainrule.ops import nn

    return nn


def _fuse_for_replay(prog: Program) -> Program:
    """The program with the fusions replay gets for free (:class:`_SoftmaxXentGrad`,
    :class:`_XentWithGrad`, and where Numba is there the fused loops of :func:`_fuse_kernels`)."""
    return _fuse_kernels(_fold_step_size(_specialize(_fuse_xent_pair(_fuse_xent_grad(prog)))))


class _ReplayOp:
    """A replay-only step: ``impl`` on arrays, giving a new array of its own (never a view)."""

    effect = False
    gives_array = True

    def __init__(self, name: str, impl: Callable[..., Any]) -> None:
        self.name = name
        self.impl = impl


class _KernelOp(_ReplayOp):
    """A replay step that runs one fused loop of :mod:`jit_kernels` (two NumPy calls' values, to
    the bit, in one pass). It takes ``out=`` and may write into its first input's buffer when that
    value is dead, as a ufunc may (never into another input)."""

    writes_out = True


def _writes_out(eq: Eqn) -> bool:
    return getattr(eq.prim, "writes_out", False) and not eq.params


def _zero_const(r: Any) -> bool:
    return isinstance(r, Const) and np.ndim(r.value) == 0 and not isinstance(r.value, bool) and r.value == 0


def _fuse_kernels(prog: Program) -> Program:
    """Two elementwise steps as one fused loop where Numba is there (:mod:`jit_kernels`): a bias
    add read only by ReLU (``maximum`` against zeros) as ``bias_relu``, and ReLU's mask (``a > 0``)
    read only by its product with the gradient as ``relu_grad``. Each computes the same bits as
    the two NumPy steps; arrays the loops do not take at run time go through those steps."""
    from chainrule.transforms import jit_kernels

    # (Numba is imported only for a program that has a pair to fuse.)
    if not any(eq.prim.impl is np.maximum or eq.prim.impl is np.greater for eq in prog.eqns) \
            or not jit_kernels.available():  # fmt: skip
        return prog
    defs, uses = _defs_and_uses(prog)

    def single_def(r: Any, impl: Any) -> Eqn | None:
        """The ufunc step ``impl`` defining ``r`` when it is read only once, else None."""
        if isinstance(r, Const) or uses.get(r) != 1:
            return None
        d = defs.get(r)
        return d if d is not None and d.prim.impl is impl and not d.params and len(d.ins) == 2 else None

    def aval_is(r: Any, shape: tuple[int, ...], dtype: Any) -> bool:
        return (tuple(np.shape(r.value)), np.asarray(r.value).dtype) == (shape, dtype) if isinstance(r, Const) \
            else prog.avals[r] == (shape, dtype)

    out: list[Eqn] = []
    drop: set[int] = set()
    for eq in prog.eqns:
        if eq.dtype not in (np.dtype(np.float32), np.dtype(np.float64)) or not eq.shape or eq.params:
            out.append(eq)
            continue
        fused = None
        if eq.prim.name == "maximum" and eq.prim.impl is np.maximum and len(eq.ins) == 2 and isinstance(eq.ins[1], Const):
            add = single_def(eq.ins[0], np.add)
            zeros = np.asarray(eq.ins[1].value)
            if add is not None and not zeros.any() and not np.signbit(zeros).any():
                x, b = add.ins
                if isinstance(x, Const) or not aval_is(x, eq.shape, eq.dtype):
                    x, b = b, x
                if not isinstance(x, Const) and aval_is(x, eq.shape, eq.dtype) and aval_is(b, eq.shape[-1:], eq.dtype):
                    fused = Eqn(_KernelOp("bias_relu", jit_kernels.bias_relu), (x, b), {}, eq.out, eq.shape, eq.dtype, eq.where)
                    drop.add(add.out)
        elif _is_ufunc(eq) and eq.prim.impl is np.multiply and len(eq.ins) == 2:
            for m, g in ((eq.ins[1], eq.ins[0]), (eq.ins[0], eq.ins[1])):
                mask = single_def(m, np.greater)
                if (mask is not None and _zero_const(mask.ins[1]) and not isinstance(mask.ins[0], Const)
                        and not isinstance(g, Const) and aval_is(g, eq.shape, eq.dtype)
                        and aval_is(mask.ins[0], eq.shape, eq.dtype)):  # fmt: skip
                    fused = Eqn(_KernelOp("relu_grad", jit_kernels.relu_grad), (g, mask.ins[0]), {}, eq.out, eq.shape,
                                eq.dtype, eq.where)  # fmt: skip
                    drop.add(mask.out)
                    break
        out.append(eq if fused is None else fused)
    if not drop:
        return prog
    fused_prog = prog.copy()
    fused_prog.eqns = [e for e in out if e.out not in drop]
    return fused_prog


#: relu's zeros are a full array up to this size (NumPy's maximum against a scalar is not
#: vectorised: three times slower than against an array); a broadcast last axis above it.
_RELU_FULL_ZEROS = 1 << 20


def _transposed_matmul(ta: bool, tb: bool) -> Callable[..., Any]:
    matmul = np.matmul
    if ta and tb:
        return lambda a, b: matmul(a.T, b.T)
    if ta:
        return lambda a, b: matmul(a.T, b)
    return lambda a, b: matmul(a, b.T)


def _leading_sum(axes: tuple[int, ...]) -> Callable[[Any], Any]:
    from chainrule.ops.shape import sum_leading  # (eager's own kernel: the same bits)

    lead = len(axes)
    return lambda x: sum_leading(x, lead)


def _defs_and_uses(prog: Program) -> tuple[dict[int, Eqn], dict[int, int]]:
    """Each slot's defining equation, and how often each slot is read (an output counts twice,
    so that no rewrite treats it as dead)."""
    defs = {eq.out: eq for eq in prog.eqns}
    uses: dict[int, int] = {}
    for eq in prog.eqns:
        for r in eq.ins:
            if not isinstance(r, Const):
                uses[r] = uses.get(r, 0) + 1
    for r in prog.outputs:
        if not isinstance(r, Const):
            uses[r] = uses.get(r, 0) + 2
    return defs, uses


def _specialize(prog: Program) -> Program:
    """Faster NumPy calls for the same values: ``relu`` as ``maximum`` against an array of zeros
    (a ufunc, so it may also write into its dead input), a 2-D ``transpose`` read only by a
    ``matmul`` folded into it (one step, BLAS reads the transposed layout), and a ``sum_to``
    over leading axes as the one kernel its impl calls (``ops.shape.sum_leading``)."""
    defs, uses = _defs_and_uses(prog)

    def plain_transpose(r: Any) -> Eqn | None:
        if isinstance(r, Const) or uses.get(r) != 1:
            return None
        t = defs.get(r)
        if t is None or t.prim.name != "transpose" or len(t.ins) != 1 or isinstance(t.ins[0], Const):
            return None
        if len(t.shape) != 2 or t.params.get("axes") not in (None, (1, 0), [1, 0]):
            return None
        return t

    out: list[Eqn] = []
    drop: set[int] = set()
    changed = False
    for eq in prog.eqns:
        name = eq.prim.name
        if name == "relu" and not eq.params and len(eq.ins) == 1 and not isinstance(eq.ins[0], Const):
            shape, dtype = prog.avals[eq.ins[0]]
            if (shape, dtype) == (eq.shape, eq.dtype) and dtype.kind == "f":
                size = int(np.prod(shape))
                zeros = np.zeros(shape if size <= _RELU_FULL_ZEROS else shape[-1:], dtype)
                prim = _ReplayOp("maximum", np.maximum)
                out.append(Eqn(prim, (eq.ins[0], Const(zeros)), {}, eq.out, eq.shape, eq.dtype, eq.where))
                changed = True
                continue
        if name == "matmul" and not eq.params and len(eq.ins) == 2 and len(eq.shape) == 2:
            ta, tb = plain_transpose(eq.ins[0]), plain_transpose(eq.ins[1])
            if ta is not None or tb is not None:
                ins = (eq.ins[0] if ta is None else ta.ins[0], eq.ins[1] if tb is None else tb.ins[0])
                drop.update(t.out for t in (ta, tb) if t is not None)
                ops = "".join("t" if t is not None else "n" for t in (ta, tb))
                prim = _ReplayOp(f"matmul_{ops}", _transposed_matmul(ta is not None, tb is not None))
                out.append(Eqn(prim, ins, {}, eq.out, eq.shape, eq.dtype, eq.where))
                changed = True
                continue
        if name == "sum_to" and len(eq.ins) == 1 and not isinstance(eq.ins[0], Const):
            shape = tuple(eq.params.get("shape", ()))
            x_shape = prog.avals[eq.ins[0]][0]
            lead = len(x_shape) - len(shape)
            if lead > 0 and shape and x_shape[lead:] == shape and prog.avals[eq.ins[0]][1] == eq.dtype:
                axes = tuple(range(lead))
                prim = _ReplayOp(f"sum_leading[axis={axes}]", _leading_sum(axes))
                out.append(Eqn(prim, eq.ins, {}, eq.out, eq.shape, eq.dtype, eq.where))
                changed = True
                continue
        out.append(eq)
    if not changed:
        return prog
    fused = prog.copy()
    fused.eqns = [e for e in out if e.out not in drop]
    return fused


#: Ops linear in their one (array) input.
_LINEAR_UNARY = frozenset({"transpose", "reshape", "sum_to", "broadcast_to", "squeeze", "expand_dims", "sum", "neg"})


def _scalar_const(r: Any) -> Any:
    """The value of a finite, non-zero, 0-d floating constant, else None."""
    if not isinstance(r, Const):
        return None
    v = r.value
    if isinstance(v, bool) or not isinstance(v, (float, np.floating, np.ndarray)) or np.ndim(v) != 0:
        return None
    v = np.asarray(v)[()]
    if not isinstance(v, (float, np.floating)) or not np.isfinite(v) or v == 0:
        return None
    return v


def _fold_step_size(prog: Program) -> Program:
    """Fold a constant step size into the loss gradient's scale: ``p - lr * g`` on every gradient.

    A training step multiplies each gradient by the same constant (``lr * g``) after the backward
    pass, a full pass over every weight-sized array. When every value computed from a fused
    cross-entropy gradient (:class:`_SoftmaxXentGrad`, :class:`_XentWithGrad`: already ``* scale``)
    is linear in it (matmul against a value not computed from it, a mask multiply, transpose,
    sums, ``add``/``sub`` of two such values) and each path ends in a multiply by the same
    scalar constant ``lr``, those multiplies go and the gradient's scale becomes ``scale * lr``
    (one multiply of the small logits-sized array). The values are the same up to float rounding
    (the product is formed earlier), as a compiler's reassociation; nothing else changes. Any
    other use of such a value (returned, compared, a nonlinear op) keeps the program as it is.
    """
    seeds = [eq for eq in prog.eqns if isinstance(eq.prim, (_SoftmaxXentGrad, _XentWithGrad))]
    if not seeds:
        return prog
    users: dict[int, list[Eqn]] = {}
    for eq in prog.eqns:
        for r in {r for r in eq.ins if not isinstance(r, Const)}:
            users.setdefault(r, []).append(eq)
    outputs = {r for r in prog.outputs if not isinstance(r, Const)}
    for seed_out in [eq.out for eq in seeds]:
        # (the current equation: folding an earlier seed may have rebuilt this one)
        seed = next(eq for eq in prog.eqns if eq.out == seed_out)
        fused = isinstance(seed.prim, _XentWithGrad)
        start = seed.prim.outs[1] if fused else seed.out
        if _scalar_const(seed.ins[2]) is None:
            continue
        # The values computed from the gradient, up to the multiplies by the step size.
        linear = {start}
        terminals: dict[int, int] = {}  # (out of ``lr * g``: g)
        step: Any = None
        frontier = [start]
        while frontier:
            for eq in users.get(frontier.pop(), ()):
                if eq.out in linear or eq.out in terminals:
                    continue
                if eq.prim.name == "mul" and _is_ufunc(eq) and len(eq.ins) == 2:
                    k = 1 if isinstance(eq.ins[1], Const) else 0
                    c = _scalar_const(eq.ins[k])
                    g = eq.ins[1 - k]
                    if c is not None and (step is None or (c == step and type(c) is type(step))) \
                            and (eq.shape, eq.dtype) == prog.avals[g]:  # fmt: skip
                        step = c
                        terminals[eq.out] = g
                        continue
                linear.add(eq.out)
                frontier.append(eq.out)
        if not terminals or linear & outputs or not all(
                _linear_use(eq, linear) for r in linear for eq in users.get(r, ()) if eq.out not in terminals):  # fmt: skip
            continue
        folded = np.asarray(np.multiply(seed.ins[2].value, step))
        if not np.isfinite(folded) or folded == 0:
            continue
        if fused:
            prim = _XentWithGrad(seed.prim.axis, seed.prim.reduction, seed.prim.outs)
        else:
            prim = _SoftmaxXentGrad(seed.prim.axis)
        new_seed = Eqn(prim, (*seed.ins[:2], Const(folded)), {}, seed.out, seed.shape, seed.dtype, seed.where)
        prog = prog.copy()
        prog.eqns = [new_seed if eq.out == seed_out else eq for eq in prog.eqns]
        prog = _substitute(prog, dict(terminals))
        users = {}
        for eq in prog.eqns:
            for r in {r for r in eq.ins if not isinstance(r, Const)}:
                users.setdefault(r, []).append(eq)
        outputs = {r for r in prog.outputs if not isinstance(r, Const)}
    return prog


def _linear_use(eq: Eqn, linear: set[int]) -> bool:
    """Whether ``eq``'s output is linear in the values of ``linear`` it reads (a scale on those
    values scales the output the same: each product has exactly one factor among them)."""
    name = eq.prim.name
    ins = [r for r in eq.ins if not isinstance(r, Const)]
    inside = [r for r in ins if r in linear]
    ufunc = _is_ufunc(eq) and len(eq.ins) == 2
    if ufunc and name == "mul":
        return len(inside) == 1
    if ufunc and name == "div":
        return inside == [eq.ins[0]]
    if ufunc and name in ("add", "sub"):
        return len(ins) == 2 and len(inside) == 2
    if name.startswith("matmul"):
        return len(eq.ins) == 2 and len(inside) == 1
    return (name in _LINEAR_UNARY or name.startswith("sum_leading")) and len(eq.ins) == 1


def _fuse_xent_pair(prog: Program) -> Program:
    """A ``cross_entropy`` and the fused gradient of the same logits and labels: one step."""
    grads = [eq for eq in prog.eqns if isinstance(eq.prim, _SoftmaxXentGrad)]
    if not grads:
        return prog
    position = {eq.out: k for k, eq in enumerate(prog.eqns)}
    replace: dict[int, Eqn] = {}
    drop: set[int] = set()
    for k, eq in enumerate(prog.eqns):
        if eq.prim.name != "cross_entropy" or eq.params.get("soft") is not False or len(eq.ins) != 2:
            continue
        v, h = eq.ins
        reduction = eq.params.get("reduction")
        if isinstance(v, Const) or isinstance(h, Const) or reduction not in ("mean", "sum", "none"):
            continue
        axis = eq.params.get("axis")
        ndim = len(prog.avals[v][0])
        if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
            continue
        for g in grads:
            scale = g.ins[2]
            # (the scale must exist where the loss is computed: a constant, or a slot made before)
            early = isinstance(scale, Const) or position.get(scale, -1) < k
            if g.ins[:2] == (v, h) and g.prim.axis == axis % ndim and g.out not in drop and early:
                prim = _XentWithGrad(g.prim.axis, reduction, (eq.out, g.out))
                replace[eq.out] = Eqn(prim, (v, h, scale), {}, eq.out, eq.shape, eq.dtype, eq.where)
                drop.add(g.out)
                break
    return _swap_in(prog, replace, drop)


def _fuse_xent_grad(prog: Program) -> Program:
    """``(softmax(v) - onehot(h)) * s``, seven ops in the rule: one :class:`_SoftmaxXentGrad`."""
    defs, uses = _defs_and_uses(prog)

    def single(r: Any, name: str) -> Eqn | None:
        if isinstance(r, Const) or uses.get(r) != 1:
            return None
        eq = defs.get(r)
        return eq if eq is not None and eq.prim.name == name else None

    drop: set[int] = set()
    replace: dict[int, Eqn] = {}
    # Multiplied by a scale ('mean', or a seed other than one) first; then bare (a 'sum'
    # reduction's seed of one was simplified away: the scale is one).
    muls = [(eq, [(single(eq.ins[k], "sub"), eq.ins[1 - k]) for k in (0, 1)]) for eq in prog.eqns
            if eq.prim.name == "mul" and not eq.params and len(eq.ins) == 2]  # fmt: skip
    bare = [(eq, [(eq, Const(np.ones((), eq.dtype)))]) for eq in prog.eqns if eq.prim.name == "sub"]
    for eq, candidates in muls + bare:
        if eq.out in drop or eq.out in replace:
            continue
        for sub, scale in candidates:
            if sub is None or sub.params or len(sub.ins) != 2:
                continue
            exp, cast = single(sub.ins[0], "exp"), single(sub.ins[1], "astype")
            lsm = exp and single(exp.ins[0], "log_softmax")
            equal = cast and single(cast.ins[0], "equal")
            shaped = equal and single(equal.ins[0], "reshape")
            if not (lsm and shaped) or isinstance(lsm.ins[0], Const) or isinstance(shaped.ins[0], Const):
                continue
            axes = lsm.params.get("axis")
            v_shape, v_dtype = prog.avals[lsm.ins[0]]
            if not (isinstance(axes, tuple) and len(axes) == 1) or not isinstance(equal.ins[1], Const):
                continue
            axis = axes[0] % len(v_shape)
            classes = [1] * len(v_shape)
            classes[axis] = v_shape[axis]
            labels = np.asarray(equal.ins[1].value)
            scale_shape = prog.avals[scale][0] if not isinstance(scale, Const) else np.shape(scale.value)
            if (cast.params.get("dtype") != v_dtype or eq.shape != v_shape or eq.dtype != v_dtype
                    or labels.shape != tuple(classes) or not np.array_equal(labels.ravel(), np.arange(v_shape[axis]))
                    or np.broadcast_shapes(tuple(scale_shape), v_shape) != v_shape
                    or prog.avals[shaped.ins[0]][1].kind not in "iu"):  # fmt: skip
                continue
            replace[eq.out] = Eqn(_SoftmaxXentGrad(axis), (lsm.ins[0], shaped.ins[0], scale), {}, eq.out,
                                  eq.shape, eq.dtype, eq.where)  # fmt: skip
            drop.update(x.out for x in (sub, exp, cast, lsm, equal, shaped) if x is not eq)
            break
    return _swap_in(prog, replace, drop)


def _swap_in(prog: Program, replace: dict[int, Eqn], drop: set[int]) -> Program:
    """``prog`` with the fused equations in ``replace`` (keyed by output slot) in place of the
    ones they stand for, and the equations whose outputs are in ``drop`` gone."""
    if not replace:
        return prog
    fused = prog.copy()
    fused.eqns = [replace.get(e.out, e) for e in prog.eqns if e.out not in drop]
    return fused


def _is_ufunc(eq: Eqn) -> bool:
    impl = eq.prim.impl
    return isinstance(impl, np.ufunc) and impl.nout == 1 and not eq.params


# ---------------------------------------------------------------------- the passes
def _substitute(prog: Program, subst: dict[int, Any]) -> Program:
    if not subst:
        return prog

    def follow(r: Any) -> Any:
        while not isinstance(r, Const) and r in subst:
            r = subst[r]
        return r

    eqns = []
    for eq in prog.eqns:
        if eq.out in subst:
            continue
        ins = tuple(follow(r) for r in eq.ins)
        eqns.append(eq if ins == eq.ins else Eqn(eq.prim, ins, eq.params, eq.out, eq.shape, eq.dtype, eq.where))
    prog.eqns = eqns
    prog.outputs = [follow(r) for r in prog.outputs]
    return prog


def _const_is(r: Any, value: float) -> bool:
    if not isinstance(r, Const):
        return False
    v = r.value
    if isinstance(v, bool) or not isinstance(v, (int, float, np.ndarray, np.generic)):
        return False
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf" or arr.size == 0 or arr.size > 1 << 16:
        return False
    return bool(np.all(arr == value))


# (primitive name, the position of the operand kept, the constant the other one must be)
_NEUTRAL = {
    "mul": ((0, 1, 1.0), (1, 0, 1.0)),
    "div": ((0, 1, 1.0),),
    "add": ((0, 1, 0.0), (1, 0, 0.0)),
    "sub": ((0, 1, 0.0),),
}


#: Shape/dtype ops that give their input back when the shape and dtype do not change.
_SAME_WHEN_UNCHANGED = frozenset({"reshape", "broadcast_to", "astype", "sum_to"})


def _identity_op(prog: Program, eq: Eqn) -> bool:
    """``reshape``/``broadcast_to``/``sum_to``/``astype`` to the shape and dtype ``x`` has."""
    if eq.prim.name not in _SAME_WHEN_UNCHANGED or len(eq.ins) != 1 or isinstance(eq.ins[0], Const):
        return False
    return prog.avals.get(eq.ins[0]) == (eq.shape, eq.dtype)


def simplify(prog: Program) -> Program:
    """Drop ``x * 1``, ``x / 1``, ``x + 0``, ``x - 0`` (same shape and dtype as ``x``), and
    reshapes/casts/broadcasts/sums to the shape and dtype ``x`` already has."""
    subst: dict[int, Any] = {}
    for eq in prog.eqns:
        if _identity_op(prog, eq):
            subst[eq.out] = eq.ins[0]
            continue
        rules = _NEUTRAL.get(eq.prim.name)
        if not rules or eq.params or len(eq.ins) != 2:
            continue
        for keep, other, value in rules:
            x = eq.ins[keep]
            x = subst.get(x, x) if not isinstance(x, Const) else x
            if isinstance(x, Const) or not _const_is(eq.ins[other], value):
                continue
            if prog.avals[x] == (eq.shape, eq.dtype):
                subst[eq.out] = x
                break
    return _substitute(prog, subst)


def fold(prog: Program) -> Program:
    """Run now the ops whose inputs are all constants."""
    subst: dict[int, Any] = {}
    for eq in prog.eqns:
        ins = [subst.get(r, r) if not isinstance(r, Const) else r for r in eq.ins]
        if all(isinstance(r, Const) for r in ins) and not _has_effect(eq.prim):
            subst[eq.out] = Const(np.asarray(eq.prim.impl(*[r.value for r in ins], **eq.params)))
    return _substitute(prog, subst)


def _freeze(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, _freeze(x)) for k, x in v.items())
    if isinstance(v, np.ndarray):
        return ("array", id(v))
    if isinstance(v, slice):
        return ("slice", _freeze(v.start), _freeze(v.stop), _freeze(v.step))
    hash(v)
    return (type(v).__name__, v)


def cse(prog: Program) -> Program:
    """Compute the same primitive on the same inputs with the same settings once."""
    seen: dict[Any, int] = {}
    subst: dict[int, Any] = {}
    for eq in prog.eqns:
        ins = tuple(subst.get(r, r) if not isinstance(r, Const) else r for r in eq.ins)
        if _has_effect(eq.prim):
            if getattr(eq.prim, "mutates", False):
                seen.clear()  # (state written in place: a value read before is not the one after)
            continue
        try:
            key = (eq.prim, tuple(("c", id(r.value)) if isinstance(r, Const) else r for r in ins),
                   _freeze(eq.params))  # fmt: skip
            hash(key)
        except TypeError:
            continue
        if key in seen:
            subst[eq.out] = seen[key]
        else:
            seen[key] = eq.out
    return _substitute(prog, subst)


def dce(prog: Program) -> Program:
    """Drop the ops no output depends on."""
    live = {r for r in prog.outputs if not isinstance(r, Const)}
    kept = []
    for eq in reversed(prog.eqns):
        if eq.out in live or _has_effect(eq.prim):
            kept.append(eq)
            live.update(r for r in eq.ins if not isinstance(r, Const))
    kept.reverse()
    prog.eqns = kept
    return prog


#: The passes, in the order they run (repeated until none removes an op).
PASSES: list[tuple[str, Callable[[Program], Program]]] = [
    ("simplify", simplify), ("fold", fold), ("cse", cse), ("dce", dce),
]  # fmt: skip


# ---------------------------------------------------------------------- text helpers
_DTYPE_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64", "int32": "i32",
                "int8": "i8", "uint8": "u8", "bool": "bool", "complex128": "c128", "complex64": "c64"}  # fmt: skip


def _aval(shape: tuple[int, ...], dtype: Any) -> str:
    name = np.dtype(dtype).name
    return f"{_DTYPE_SHORT.get(name, name)}[{','.join(str(d) for d in shape)}]"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return f"{v.item()!r}:{_aval(v.shape, v.dtype)}"
        return f"const:{_aval(v.shape, v.dtype)}"
    if isinstance(v, np.generic):
        return repr(v.item())
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return repr(v)  # (a named tuple: jit's ``_In`` marks an index read from an input)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_short(x) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(97 + r) + s
    return s


def _identifier(name: str) -> str:
    """A safe Python name for the generated function: ASCII letters, digits and ``_`` only (the
    user's function name is the only outside text in the program's source)."""
    ident = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in name) or "f"
    ident = ident if not ident[0].isdigit() else "f_" + ident
    return "f_" + ident if keyword.iskeyword(ident) else ident
