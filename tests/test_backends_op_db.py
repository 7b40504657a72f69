"""The op table on another array library: array-api-strict (issue 16).

array-api-strict implements the Python array API standard and nothing more, on CPU: no NumPy
names, no methods beyond the standard's, no silent conversions. Running every differentiable
entry of the op table on it proves that the forwards and the derivative rules take their
functions from the inputs' namespace and that nothing NumPy-specific leaks into them.

Each case runs twice, on NumPy tensors and on strict tensors, and the two must agree: the value
and the first-order gradient (a backward of a fixed random weighting of the outputs). The NumPy
side is what ``test_op_db.py`` gradchecks against finite differences, so agreement is a
first-order gradient check on the strict side. Entries whose op needs a function outside the
standard (einsum, most of linalg, FFT) must instead refuse strict arrays with a clear error that
names the op: they are listed in ``OUTSIDE_STANDARD``, and a listed entry that starts working
fails the test too, so the list stays true.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.backend import MixedLibrariesError, UnsupportedOnLibrary
from tests.op_db import OP_DB, rng_for

xs = pytest.importorskip("array_api_strict")

#: Entries whose op is outside the array API standard, by entry name: on strict arrays they must
#: raise UnsupportedOnLibrary naming the op.
OUTSIDE_STANDARD: set[str] = set()
OUTSIDE_STANDARD |= {"erf", "gelu", "exp2", "fmax", "fmin", "logaddexp2", "partition"}  # elementwise
# linalg: eig is NumPy's real-spectrum eig (real eigenvectors); the standard's linalg.eig returns
# complex ones whose phases are the library's choice.
OUTSIDE_STANDARD |= {"eig", "eig_batched", "eigvals"}  # linalg

#: Entries whose op builds a NumPy tensor inside (a fixed mask): on strict inputs that is two
#: libraries in one op, which must be the mixing error (a user on strict writes the mask in strict).
MIXED_BY_CONSTRUCTION = {"where", "select_stacked_choices"}

#: Entries that write into a tensor in place, which non-NumPy tensors refuse (ops/methods.py:
#: their in-place checks read NumPy's view facts): on strict arrays they must raise that refusal.
IN_PLACE: set[str] = {"setitem_non_leaf"}  # indexing

CASES = [(e, s) for e in OP_DB if e.differentiable for s in e.samples(rng_for(e.name))]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]


def _to_strict(a):
    if isinstance(a, np.ndarray) or isinstance(a, np.generic):
        return xs.asarray(np.asarray(a))
    return a


def _positions(entry, sample):
    if entry.grad_args is not None:
        return entry.grad_args
    return tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")


def _run(entry, sample, convert):
    """Value(s) and gradients of a random weighting of the outputs, with inputs from ``convert``."""
    positions = _positions(entry, sample)
    args = []
    for i, a in enumerate(sample.args):
        if isinstance(a, (np.ndarray, np.generic, float, int)) and np.ndim(a) >= 0 and not isinstance(a, bool):
            t = cr.tensor(convert(np.asarray(a)), requires_grad=i in positions)
            args.append(t)
        else:
            args.append(a)
    # Array settings (a prepend, index arrays) come from the same library as the data.
    kwargs = {k: convert(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()}
    out = entry.op(*args, **kwargs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    rng = np.random.default_rng(0)
    loss = None
    values = []
    for o in outs:
        if not isinstance(o, cr.Tensor):
            continue
        values.append(o.numpy())
        if o.requires_grad:
            w = cr.tensor(convert(rng.standard_normal(tuple(o.shape))))
            term = cr.sum(o * w)
            loss = term if loss is None else loss + term
    grads = []
    if loss is not None:
        loss.backward()
        for p in positions:
            g = args[p].grad
            grads.append(None if g is None else g.numpy())
    return values, grads


@pytest.mark.parametrize("entry,sample", CASES, ids=IDS)
def test_strict_matches_numpy(entry, sample) -> None:
    if entry.name in IN_PLACE:
        with pytest.raises(RuntimeError, match="in-place operations are supported on NumPy tensors only"):
            _run(entry, sample, _to_strict)
        return
    if entry.name in MIXED_BY_CONSTRUCTION:
        with pytest.raises(MixedLibrariesError, match="numpy"):
            _run(entry, sample, _to_strict)
        return
    if entry.name in OUTSIDE_STANDARD:
        # The refusal names one of the entry's primitives (partition: argpartition, its second).
        with pytest.raises(UnsupportedOnLibrary, match="|".join(entry.primitives)):
            _run(entry, sample, _to_strict)
        return
    ref_values, ref_grads = _run(entry, sample, lambda a: a)
    values, grads = _run(entry, sample, _to_strict)
    assert len(values) == len(ref_values)
    for v, r in zip(values, ref_values):
        np.testing.assert_allclose(v, r, rtol=1e-10, atol=1e-12)
    assert len(grads) == len(ref_grads)
    for g, r in zip(grads, ref_grads):
        if r is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)


def test_strict_tensors_stay_strict() -> None:
    x = cr.tensor(xs.asarray([0.5, 1.5]), requires_grad=True)
    y = cr.sum(cr.sin(x) * x)
    assert type(y._data).__module__.startswith("array_api_strict")
    y.backward()
    assert type(x.grad._data).__module__.startswith("array_api_strict")
