"""See inside a compiled (``cr.jit``) function: its program's steps with their values, and the
chain rule through them.

A jitted function is a *program*: a list of primitive steps on named values (``a``, ``b``, ...,
the names ``lowered.as_text()`` prints). The tools here run that program on the arguments it was
lowered with and show it the way the eager tools show a recorded graph:

- :func:`program_table` (also ``lowered.table()``): one row per step, with its definition, shape
  and dtype, the value it takes and, for a function that returns a loss (one real scalar), the
  gradient of that loss with respect to the value; each op is marked ``backward`` when a
  backward pass inside the function (``grad``, ``backward()``, ``tape.gradient``) made it, and
  says which line of the user's code bound it;
- :func:`capture_program` (also ``lowered.capture()``): the program as a :class:`Graph` with
  values and adjoints, so that ``viz.explain``, ``viz.trace_tables``, ``viz.draw`` and
  ``viz.explore`` work on it. ``viz.explain(jitted, *args)`` and ``viz.trace_tables(jitted,
  *args)`` call it for you, for a ``cr.jit`` function, a ``tf.function``, a ``torch.compile``d
  function, or a ``Lowered`` program.

Seeing inside never changes anything: state updates the program makes (``Variable.assign``, an
optimizer's step) are not run, and tracing happens only if the signature is new.

>>> import chainrule as cr
>>> from chainrule import viz
>>> f = cr.jit(lambda x, y: cr.sum(cr.sin(x) * y))
>>> print(viz.explain(f, cr.tensor(0.5), cr.tensor(2.0)).to_text().splitlines()[-3:-1])
['  de/da = 1.75517', '  de/db = 0.479426']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import enable_grad
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.jit_program import Const, _aval, _letters
from chainrule.viz.capture import Graph, capture, format_value

__all__ = ["program_table", "capture_program", "ProgramTable", "ProgramRow", "as_lowered"]


def as_lowered(obj: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
    """The ``Lowered`` program of a compiled function for these arguments, or None when ``obj``
    is not one (a ``cr.jit`` function, a ``tf.function``, a ``torch.compile``d function, or a
    ``Lowered`` program itself)."""
    from chainrule.transforms.jit import Jitted, Lowered

    kwargs = kwargs or {}
    if isinstance(obj, Lowered):
        if args or kwargs:
            raise TypeError(
                "see-inside of a lowered program: it already holds the arguments it was lowered "
                "with; pass the jitted function instead to use other arguments"
            )
        return obj
    if isinstance(obj, Jitted):
        return obj.lower(*args, **kwargs)
    concrete = getattr(type(obj), "get_concrete_function", None)
    if concrete is not None and isinstance(getattr(obj, "_jitted", None), Jitted):
        return obj.get_concrete_function(*args, **kwargs)  # a tf.function (its input_signature applies)
    jitted = getattr(obj, "__dict__", {}).get("_jitted")
    if isinstance(jitted, Jitted):
        return jitted.lower(*args, **kwargs)  # a torch.compile'd function or module
    return None


def _names(prog: Any) -> dict[int, str]:
    """Slot -> the name ``Program.as_text`` gives it (inputs first, then each op's result)."""
    names: dict[int, str] = {}
    for s in [*prog.inputs, *(eq.out for eq in prog.eqns)]:
        if s not in names:
            names[s] = _letters(len(names))
    return names


def _run(lowered: Any, optimized: bool) -> tuple[Any, dict[int, Any], dict[int, str], list[Tensor]]:
    """Replay the program through ``bind`` on copies of the example inputs (real floating ones
    require grad), skipping host calls and state updates. Returns (program, slot -> tensor,
    slot -> name, input tensors)."""
    from chainrule.transforms.jit import _CONST

    prog = lowered.program if optimized else lowered.traced
    names = _names(prog)
    env: dict[int, Any] = {}
    leaves: list[Tensor] = []
    with enable_grad():
        for s, x in zip(prog.inputs, lowered.example_inputs()):
            data = np.array(x._data if isinstance(x, Tensor) else np.asarray(x), copy=True)
            t = wrap_array(data)
            if data.dtype.kind == "f":
                t._requires_grad = True
            env[s] = t
            leaves.append(t)
        for eq in prog.eqns:
            if getattr(eq.prim, "effect", False):
                continue
            args = [r.value if isinstance(r, Const) else env[r] for r in eq.ins]
            if eq.prim is _CONST:
                env[eq.out] = wrap_array(np.array(args[0], copy=True))
            else:
                env[eq.out] = bind(eq.prim, *args, **eq.params)
    return prog, env, names, leaves


def _outputs(lowered: Any, prog: Any, env: dict[int, Any]) -> list[Tensor]:
    outs = []
    for r in prog.outputs[: lowered.n_outputs]:
        outs.append(wrap_array(np.array(r.value, copy=True)) if isinstance(r, Const) else env[r])
    return outs


def capture_program(lowered: Any, *, optimized: bool = True, adjoints: bool = True) -> Graph:
    """The program (after the passes, or as traced with ``optimized=False``) as a captured
    :class:`Graph` on ``lowered``'s example arguments: nodes named as in ``as_text()``, with
    values and, when ``adjoints``, the gradient of the function's outputs (seeded with ones)
    from the engine. Host calls (``tf.print``) and state updates are not run.

    >>> import chainrule as cr
    >>> g = cr.jit(lambda x: cr.sum(x * x)).lower(cr.tensor([1.0, 2.0])).capture()
    >>> [(n.symbol, n.value_text, n.adjoint_text) for n in g.nodes if n.kind != "constant"]
    [('a', '[1, 2]', '[2, 4]'), ('b', '[1, 4]', '[1, 1]'), ('c', '5', '1')]
    """
    prog, env, names, _ = _run(lowered, optimized)
    outs = [t for t in _outputs(lowered, prog, env) if t._requires_grad]
    if not outs:
        raise ValueError(
            f"see-inside of jit program {prog.name}: no output depends on a floating-point input, "
            "so there is no chain rule to show; look at its steps with lowered.table()"
        )
    table = {t: names[s] for s, t in env.items() if isinstance(t, Tensor) and (t._requires_grad or t._node is not None)}
    graph = capture(outs, names=table, adjoints=adjoints)
    stage = "after the passes" if optimized else "as traced"
    graph.notes.append(f"jit program {prog.name} {stage}: {len(prog.eqns)} ops")
    return graph


@dataclass
class ProgramRow:
    """One value of a program: an input, or the result of one step."""

    step: str
    name: str
    definition: str
    type: str
    value: str
    gradient: str
    phase: str = ""
    where: str = ""


@dataclass
class ProgramTable:
    """The steps of a jitted function's program with their values; ``str()`` is plain text,
    :meth:`to_markdown` (and Jupyter) a Markdown table."""

    name: str
    rows: list[ProgramRow]
    outputs: list[str]
    writes: list[str] = field(default_factory=list)
    gradient_of: str | None = None
    notes: list[str] = field(default_factory=list)

    _HEAD = ("step", "name", "definition", "type", "value", "gradient", "phase", "where")

    def _columns(self) -> list[str]:
        keep = list(self._HEAD)
        if self.gradient_of is None:
            keep.remove("gradient")
        if not any(r.phase for r in self.rows):
            keep.remove("phase")
        if not any(r.where for r in self.rows):
            keep.remove("where")
        return keep

    def to_text(self) -> str:
        """The table as aligned plain text."""
        cols = self._columns()
        cells = [list(cols)] + [[str(getattr(r, c)) for c in cols] for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
        lines.append(f"outputs: {', '.join(self.outputs)}")
        if self.writes:
            lines.append(f"written back into state at every call: {', '.join(self.writes)}")
        if self.gradient_of is not None:
            lines.append(f"gradient: d{self.gradient_of}/d(value), by reverse mode through the program's steps")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        """The table as Markdown."""
        cols = self._columns()
        out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in self.rows:
            cells = [str(getattr(r, c)).replace("|", "\\|") for c in cols]
            cells[cols.index("definition")] = f"`{cells[cols.index('definition')]}`"
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out.append(f"outputs: {', '.join(self.outputs)}")
        if self.writes:
            out.append(f"; written back into state at every call: {', '.join(self.writes)}")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def program_table(program: Any, *args: Any, optimized: bool = True, gradients: Any = None,
                  **kwargs: Any) -> ProgramTable:  # fmt: skip
    """The steps of a compiled function's program with each value's shape, dtype and value.

    ``program`` is a ``Lowered`` program (``cr.jit(f).lower(*args)``) or a compiled function
    with its arguments (``program_table(cr.jit(f), x)``; a ``tf.function`` or a
    ``torch.compile``d function works too). ``gradients``: None (the default) adds the gradient
    column when the function returns one real scalar; True adds it for any real outputs (seeded
    with ones, as ``backward()`` of their sum); False leaves it out.

    >>> import chainrule as cr
    >>> table = program_table(cr.jit(cr.grad(lambda x: cr.sum(cr.sin(x)))), cr.tensor([0.0]))
    >>> [(r.name, r.definition, r.value, r.phase) for r in table.rows]
    [('a', 'input', '0', ''), ('b', 'cos a', '1', 'backward')]
    """
    lowered = as_lowered(program, args, kwargs)
    if lowered is None:
        raise TypeError(
            f"program_table: expected a cr.jit function (with its arguments), a tf.function, a "
            f"torch.compile'd function or a lowered program, got {type(program).__name__}"
        )
    prog, env, names, _ = _run(lowered, optimized)
    outs = _outputs(lowered, prog, env)
    real = [t for t in outs if t._requires_grad]
    if gradients is None:
        gradients = len(outs) == 1 and len(real) == 1 and real[0]._data.shape == ()
    notes: list[str] = []
    adjoint: dict[str, Any] = {}
    grad_name = None
    if gradients and real:
        graph = capture(real, names={t: names[s] for s, t in env.items()
                                     if isinstance(t, Tensor) and (t._requires_grad or t._node is not None)},
                        adjoints=True)  # fmt: skip
        adjoint = {n.name: n.adjoint for n in graph.nodes if n.name is not None}
        out_refs = [r for r in prog.outputs[: lowered.n_outputs] if not isinstance(r, Const)]
        grad_name = names[out_refs[0]] if len(real) == 1 and out_refs else "(sum of outputs)"
        notes.extend(graph.notes)
    elif gradients:
        notes.append("no output depends on a floating-point input: no gradient column")

    def ref_text(r: Any) -> str:
        from chainrule.transforms.jit_program import _short

        return _short(r.value) if isinstance(r, Const) else names[r]

    def grad_text(name: str) -> str:
        if grad_name is None:
            return ""
        g = adjoint.get(name)
        return "0" if g is None else format_value(g)

    entry = lowered._entry
    n_args = len(lowered.example or [])
    rows: list[ProgramRow] = []
    for k, s in enumerate(prog.inputs):
        shape, dtype = prog.avals[s]
        kind = "input" if k < n_args else "state input"
        t = env[s]
        rows.append(ProgramRow("in", names[s], kind, _aval(shape, dtype), format_value(t._data), grad_text(names[s])))
    for k, eq in enumerate(prog.eqns, start=1):
        settings = ""
        if eq.params:
            from chainrule.transforms.jit_program import _short

            settings = "[" + ", ".join(f"{p}={_short(v)}" for p, v in eq.params.items()) + "]"
        definition = f"{eq.prim.name}{settings} {' '.join(ref_text(r) for r in eq.ins)}".rstrip()
        origin = eq.where
        phase = "backward" if origin is not None and getattr(origin, "backward", False) else ""
        where = f"line {origin[1]}" if origin is not None else ""
        t = env.get(eq.out)
        if getattr(eq.prim, "effect", False):
            value = "(runs at every call; not run here)"
        else:
            value = format_value(t._data if isinstance(t, Tensor) else t)
        rows.append(ProgramRow(str(k), names[eq.out], definition, _aval(eq.shape, eq.dtype), value,
                               grad_text(names[eq.out]), phase, where))  # fmt: skip
    outputs = [ref_text(r) for r in prog.outputs[: lowered.n_outputs]]
    writes = []
    for target, r in zip([w for w in entry.writes if w[0] != "grad_none"], prog.outputs[lowered.n_outputs:]):
        what = getattr(target[1], "name", None)
        label = f"'{what}'" if isinstance(what, str) else f"a {tuple(target[1].shape)} tensor"
        writes.append(f"{label}{'.grad' if target[0] == 'grad' else ''} <- {ref_text(r)}")
    stage = "after the passes" if optimized else "as traced"
    notes.insert(0, f"jit program {prog.name} {stage}: {len(prog.eqns)} ops")
    return ProgramTable(name=prog.name, rows=rows, outputs=outputs, writes=writes, gradient_of=grad_name,
                        notes=notes)  # fmt: skip
