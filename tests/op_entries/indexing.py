"""Entries for ops/indexing.py: getitem (basic, integer-array with repeats, boolean masks),
its adjoint index_add, index_put (and Tensor.__setitem__ on a non-leaf), take, take_along_axis."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops._api import ensure_tensor
from chainrule.ops.indexing import index_add_p, normalize_index
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform

MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]])

# (input shape, index) pairs; every kind of index NumPy accepts, in small tensors.
GETITEM_CASES = [
    ((4,), 2),
    ((4,), -1),
    ((3, 4), (1,)),
    ((3, 4), (slice(None), 2)),
    ((3, 4), (slice(None, None, -1), slice(1, 3))),
    ((3, 4), (slice(2, None, -2), slice(None, None, -3))),
    ((3, 4), (None, Ellipsis, slice(None, None, 2))),
    ((2, 3, 2), (Ellipsis, 0)),
    ((2, 3, 2), (1, None, slice(0, 2), -1)),
    ((3, 4), (2, -1)),
    ((3, 4), ()),
    ((), ()),
    ((), None),
    ((4,), np.array([0, 0, 3, 1, 0])),
    ((3, 4), (np.array([0, 0, 2]), np.array([1, 1, 3]))),
    ((3, 4), (slice(None), [3, 3, 0])),
    ((3, 4), np.array([[0, 2], [2, 2]])),
    ((2, 3, 2), (np.array([1, 1]), slice(None), np.array([0, 0]))),
    ((3, 4), MASK),
    ((3, 4), np.array([True, False, True])),
    ((3, 4), (np.array([True, False, True]), [1, 1])),
    ((3, 4), (slice(None), np.array([False, True, True, False]))),
    ((), np.array(True)),
]


def _getitem_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((uniform(rng, shape, -2, 2),), {"index": index}, name=f"{shape}-{i}")
            for i, (shape, index) in enumerate(GETITEM_CASES)]  # fmt: skip


def _index_add_samples(rng: np.random.Generator) -> list[Sample]:
    out = []
    for i, (shape, index) in enumerate(GETITEM_CASES):
        norm = normalize_index(index)
        values_shape = np.zeros(shape)[norm].shape
        out.append(Sample((uniform(rng, values_shape, -2, 2),), {"index": norm, "shape": shape},
                          name=f"{shape}-{i}"))  # fmt: skip
    return out


def _np_index_add(v, index, shape):
    out = np.zeros(shape)
    np.add.at(out, index, v)
    return out


PUT_CASES = [
    ((4,), 1, ()),
    ((3, 4), (slice(None), 2), (3,)),
    ((3, 4), (slice(None), 2), (1,)),
    ((3, 4), (0,), (1, 4)),
    ((3, 4), (slice(1, None), slice(None, None, -2)), (2, 2)),
    ((3, 4), (np.array([0, 2]), np.array([1, 3])), (2,)),
    ((3, 4), MASK, (6,)),
    ((3, 4), MASK, ()),
    ((2, 3), (np.array([True, False]),), (3,)),
]


def _put_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((uniform(rng, xs, -2, 2), uniform(rng, vs, -2, 2)), {"index": index},
                   name=f"{xs}-{i}-{vs}")
            for i, (xs, index, vs) in enumerate(PUT_CASES)]  # fmt: skip


def _np_put(x, v, index):
    out = x.copy()
    out[index] = v
    return out


def _setitem(x, v, index):
    """``y = 2x; y[index] = v`` with x tracked: recorded as index_put on a non-leaf."""
    y = x * 2.0
    y[index] = v
    return y


def _np_setitem(x, v, index):
    return _np_put(x * 2.0, v, index)


def _take_samples(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (3, 4), -2, 2)
    return [
        Sample((x,), {"indices": np.array([5, 5, 0, 11])}, name="flat"),
        Sample((x,), {"indices": np.array([[3, 3], [0, -1]]), "axis": 1}, name="axis1"),
        Sample((x,), {"indices": np.array([2, 2, 2]), "axis": 0}, name="axis0-repeats"),
    ]


def _along_samples(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (3, 4), -2, 2)
    y = uniform(rng, (2, 3, 2), -2, 2)
    return [
        Sample((x,), {"indices": np.array([[2], [0], [3]]), "axis": 1}, name="class-indices"),
        Sample((x,), {"indices": np.array([[1, 1, 0], [3, 3, 3], [0, 2, 2]]), "axis": -1},
               name="repeats"),  # fmt: skip
        Sample((x,), {"indices": np.array([[2, 0, 1, 1]]), "axis": 0}, name="axis0-broadcast"),
        Sample((y,), {"indices": np.array([[[1], [0], [1]]]), "axis": 2}, name="3d"),
        Sample((x,), {"indices": np.array([11, 0, 0]), "axis": None}, name="flat"),
    ]


E = OpInfo
ENTRIES = [
    E("getitem", lambda x, index: x[index], lambda x, index: np.asarray(x)[index], _getitem_samples,
      ("getitem", "index_add")),
    E("getitem_function", cr.getitem, lambda x, index: np.asarray(x)[index],
      lambda rng: _getitem_samples(rng)[13:17], ("getitem",)),
    E("index_add", lambda v, index, shape: ensure_tensor(index_add_p(v, index=index, shape=shape)),
      _np_index_add, _index_add_samples, ("index_add", "getitem")),
    E("index_put", lambda x, v, index: cr.index_put(x, index, v), _np_put, _put_samples,
      ("index_put", "getitem")),
    E("setitem_non_leaf", _setitem, _np_setitem, _put_samples, ("index_put", "mul")),
    E("take", cr.take, np.take, _take_samples, ("getitem", "index_add")),
    E("take_along_axis", cr.take_along_axis, np.take_along_axis, _along_samples,
      ("getitem", "index_add")),
]
