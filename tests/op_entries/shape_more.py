"""Entries for the shape ops of ops/shape.py beyond the basics: pad/crop, concatenation, flip,
roll, and the composites swapaxes, moveaxis, permute, squeeze, stack, split, tile, repeat."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


def _cases(*cases):
    """Samples from (shapes, kwargs) pairs: one float input per shape."""

    def make(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shapes, kw in cases:
            shapes = shapes if isinstance(shapes, list) else [shapes]
            args = tuple(uniform(rng, s, -2, 2) for s in shapes)
            out.append(Sample(args, dict(kw), name=f"{shapes}-{kw}"))
        return out

    return make


def _concat(*xs, axis=0):
    return cr.concatenate(list(xs), axis=axis)


def _np_concat(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _stack(*xs, axis=0):
    return cr.stack(xs, axis=axis)


def _np_stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


def _split_weighted(lib):
    """Split, scale each part differently, join again: checks every part's gradient."""

    def f(x, sections, axis=0):
        parts = (cr if lib is cr else np).split(x, sections, axis=axis)
        scaled = [p * (i + 1.0) for i, p in enumerate(parts)]
        return cr.concatenate(scaled, axis=axis) if lib is cr else np.concatenate(scaled, axis=axis)

    return f


def _split_stacked(x, sections, axis=0):
    return cr.stack(cr.split(x, sections, axis=axis))


def _np_split_stacked(x, sections, axis=0):
    return np.stack(np.split(x, sections, axis=axis))


E = OpInfo
ENTRIES = [
    E("pad", cr.pad, np.pad, _cases(
        ((3,), {"pad_width": 1}),
        ((3,), {"pad_width": (2, 0)}),
        ((2, 3), {"pad_width": ((1, 0), (0, 2))}),
        ((2, 3), {"pad_width": ((1,), (2,))}),
        ((2, 3), {"pad_width": (1, 1), "constant_values": 2.5}),
        ((), {"pad_width": 0}),
    ), ("pad",)),
    E("concatenate", _concat, _np_concat, _cases(
        ([(2,), (3,)], {}),
        ([(2, 2), (1, 2)], {}),
        ([(2, 1), (2, 3), (2, 2)], {"axis": 1}),
        ([(1, 2), (2, 2), (1, 2), (2, 2)], {"axis": -2}),
        ([(2, 2), (3,)], {"axis": None}),
    ), ("concat2", "pad")),
    E("concatenate_single", lambda x: cr.concatenate([x]), lambda x: np.concatenate([x]),
      _cases(((3, 2), {})), ("reshape",)),
    E("stack", _stack, _np_stack, _cases(
        ([(3,), (3,)], {}),
        ([(2, 2), (2, 2), (2, 2)], {"axis": 1}),
        ([(2,), (2,), (2,)], {"axis": -1}),
        ([(), ()], {}),
    ), ("concat2", "reshape")),
    E("split_sections", _split_stacked, _np_split_stacked, _cases(
        ((4, 2), {"sections": 2}),
        ((2, 6), {"sections": 3, "axis": 1}),
    ), ("pad",)),
    E("split_indices", _split_weighted(cr), _split_weighted(np), _cases(
        ((5, 2), {"sections": [2, 3]}),
        ((2, 5), {"sections": [1, -1], "axis": 1}),
        ((4,), {"sections": [3, 1, 6]}),
    ), ("pad",)),
    E("flip", cr.flip, np.flip, _cases(
        ((4,), {}), ((2, 3), {"axis": 0}), ((2, 3, 2), {"axis": (0, 2)}), ((2, 3), {}), ((), {}),
    ), ("flip",)),
    E("flip_method", lambda x: x.flip(0, 1), lambda x: np.flip(x, (0, 1)), _cases(((2, 3), {})),
      ("flip",)),
    E("roll", cr.roll, np.roll, _cases(
        ((5,), {"shift": 2}),
        ((3, 4), {"shift": -1}),
        ((3, 4), {"shift": 1, "axis": 1}),
        ((3, 4), {"shift": (1, -2), "axis": (0, 1)}),
        ((2, 3), {"shift": (1, 1), "axis": 1}),
    ), ("roll",)),
    E("roll_method", lambda x: x.roll(1, 0), lambda x: np.roll(x, 1, 0), _cases(((3, 2), {})),
      ("roll",)),
    E("swapaxes", cr.swapaxes, np.swapaxes, _cases(
        ((2, 3), {"axis1": 0, "axis2": 1}), ((2, 3, 2), {"axis1": -1, "axis2": 0}),
    ), ("transpose",)),
    E("swapaxes_method", lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2),
      _cases(((2, 1, 3), {})), ("transpose",)),
    E("moveaxis", cr.moveaxis, np.moveaxis, _cases(
        ((2, 3, 2), {"source": 0, "destination": -1}),
        ((2, 3, 2), {"source": (0, 1), "destination": (2, 0)}),
    ), ("transpose",)),
    E("permute", lambda x: cr.permute(x, 2, 0, 1), lambda x: np.transpose(x, (2, 0, 1)),
      _cases(((2, 3, 2), {})), ("transpose",)),
    E("permute_method", lambda x: x.permute((1, 0)), lambda x: x.T, _cases(((2, 3), {})),
      ("transpose",)),
    E("squeeze", cr.squeeze, np.squeeze, _cases(
        ((1, 3, 1), {}), ((1, 3, 1), {"axis": 0}), ((2, 1, 1), {"axis": (1, 2)}), ((1,), {}),
    ), ("reshape",)),
    E("squeeze_method", lambda x: x.squeeze(-1), lambda x: np.squeeze(x, -1), _cases(((3, 1), {})),
      ("reshape",)),
    E("unsqueeze_method", lambda x: x.unsqueeze(1), lambda x: np.expand_dims(x, 1),
      _cases(((3, 2), {})), ("reshape",)),
    E("tile", cr.tile, np.tile, _cases(
        ((3,), {"reps": 2}),
        ((2, 2), {"reps": (2, 1)}),
        ((2,), {"reps": (2, 1, 2)}),
        ((2, 3), {"reps": 2}),
        ((), {"reps": 3}),
    ), ("reshape", "broadcast_to")),
    E("tile_method", lambda x: x.tile(1, 2), lambda x: np.tile(x, (1, 2)), _cases(((2, 2), {})),
      ("reshape", "broadcast_to")),
    E("repeat", cr.repeat, np.repeat, _cases(
        ((3,), {"repeats": 2}),
        ((2, 3), {"repeats": 2, "axis": 1}),
        ((2, 3), {"repeats": 2}),
        ((2, 2), {"repeats": 3, "axis": -2}),
    ), ("reshape", "broadcast_to")),
    # Per-element counts go through take (getitem with an integer array).
    E("repeat_counts", cr.repeat, np.repeat, _cases(
        ((3,), {"repeats": [2, 0, 3]}),
        ((2, 3), {"repeats": [1, 3], "axis": 0}),
    ), ("getitem", "index_add")),
]
