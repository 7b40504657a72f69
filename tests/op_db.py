"""THE op table: one entry per primitive or composite, driving the generated op tests.

Each family keeps its entries in ``tests/op_entries/<family>.py`` (a list named ``ENTRIES``); this
module gathers them. An entry names the primitives it covers, so the registry test can prove that
every registered primitive is tested.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.testing.gradcheck import ATOL, RTOL

__all__ = ["OpInfo", "Sample", "OP_DB", "rng_for"]


@dataclass
class Sample:
    """Positional array arguments (NumPy float64) and static keyword settings."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass
class OpInfo:
    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any] | None
    samples: Callable[[np.random.Generator], list[Sample]]
    primitives: tuple[str, ...]
    #: Positions of the differentiable arguments (others are passed as constants).
    grad_args: tuple[int, ...] | None = None
    differentiable: bool = True
    second_order: bool = True
    #: gradcheck's tolerances, at first and second order alike. Loosen them only for an entry that
    #: cannot meet them, with a comment saying why (a kink near a sample is fixed in the sample).
    atol: float = ATOL
    rtol: float = RTOL
    #: Whether the op supports vmap/jvp checks (set False only with a reason in the entry).
    check_jvp: bool = True


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded from the entry's name, so each entry's samples are reproducible."""
    return np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(name)))


def _collect() -> list[OpInfo]:
    from tests import op_entries

    entries: list[OpInfo] = []
    modules = [m for m in pkgutil.iter_modules(op_entries.__path__) if not m.name.startswith("_")]
    for mod in sorted(modules, key=lambda m: m.name):
        module = importlib.import_module(f"tests.op_entries.{mod.name}")
        entries.extend(module.ENTRIES)
    names = [e.name for e in entries]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"op_db: duplicate entry names {sorted(dupes)}")
    return entries


OP_DB: list[OpInfo] = _collect()
