"""Common-subexpression sharing and symbolic ones for recorded (``create_graph``) sweeps.

Nested derivatives swell because each node's rule rebuilds what its siblings already built; a
recorded sweep on an empty stack pushes the interpreter below, which hands back the tensor an
elementwise op already returned for the same inputs, and drops products with the all-ones seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import state
from chainrule.core.primitive import registry
from chainrule.core.stack import Interpreter, bind_below
from chainrule.core.tensor import Tensor, share_version, wrap_array

__all__ = ["SharedSubexpressions", "recorded_sweep"]

_ndarray = np.ndarray

_ELEMENTWISE = ("elementwise",)


#: The smallest recorded sweep (nodes to visit) that shares subexpressions.
_SHARE_FROM = 16


def recorded_sweep(root_cotangents: list[Any], n_nodes: int) -> SharedSubexpressions | None:
    """The interpreter for a recorded sweep on an empty stack, or None when it would not pay.

    It shares repeated elementwise subexpressions (every sin node of a nested derivative asks for
    cos of the same x), which pays from about 16 nodes on (measured on nested derivatives of
    sin(x)·exp(x): orders 1-2 as they were, a third off order 8), and it drops products with the
    seeds when they are ones (``autograd.grad``'s and ``grad``'s default), which pays on any
    graph with a product.
    """
    interp = SharedSubexpressions()
    for cot in root_cotangents:
        interp.add_one(cot)
    if n_nodes >= _SHARE_FROM or interp.ones:
        return interp
    return None


class SharedSubexpressions(Interpreter):
    """Common-subexpression sharing for one recorded (``create_graph``) backward sweep.

    Nested derivatives swell because each node's rule rebuilds what its siblings already built:
    at order k the graph of sin(x)·exp(x) holds 2^(k-2) sin nodes of the same x, and each one's
    rule asks for a new cos(x). Within one sweep, an elementwise primitive (pure: its output
    depends only on its inputs' values) applied again to the very same input objects, unchanged
    since (same storage versions), in the same grad mode, returns the tensor it returned the
    first time. The graph becomes a DAG with shared nodes instead of a tree of copies, the next
    sweep visits each shared node once, and the values and gradients are the same (a shared node's
    cotangents are summed, as for any fan-out).

    Only on an empty stack (the common nested ``autograd.grad``): under tapes, accumulators or
    vmap the sweep runs as before. Ops with params (astype, clip bounds) are not shared.
    """

    def __init__(self) -> None:
        self.memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        #: The stack this interpreter is pushed as (alone on it): while it is the thread's stack,
        #: an op is run by turning ``busy`` off around ``bind``, without rebuilding the stack.
        self.alone = (self,)
        #: id -> tensor: the constant all-ones tensors of this sweep (the seeds, and their
        #: reshapes and broadcasts). A product with one of them is the other factor.
        self.ones: dict[int, tuple[Tensor, list[int], int]] = {}
        #: id -> tensor: tensors that existed before the sweep and that an op of the sweep
        #: returned as its result (a product with a one). They may become cotangents, and a
        #: cotangent that leaves the sweep (a result, a retained .grad, a hook's argument) must
        #: be a tensor of its own, as PyTorch's are: see :meth:`own`.
        self.aliases: dict[int, Tensor] = {}

    def close(self) -> None:
        """Drop what the sweep kept (the memo holds its inputs and outputs) and the stack tuple
        that refers back to this interpreter, so that nothing waits for the cyclic GC."""
        self.memo = {}
        self.ones = {}
        self.alone = None

    def add_one(self, t: Any) -> None:
        """Note ``t`` as a symbolic one when it is a constant tensor of exact ones."""
        # (NumPy data only: another library's seed is left as a plain factor; reading a Dask
        # array's values would compute it.)
        if type(t) is Tensor and t._node is None and not t._requires_grad and type(t._data) is _ndarray:
            d = t._data
            if d.dtype.kind == "f" and (d.item() == 1.0 if d.size == 1 else bool((d == 1.0).all())):
                # With its storage version: a hook that writes to it in place ends its being one.
                vc = share_version(t)
                self.ones[id(t)] = (t, vc, vc[0])

    def is_one(self, t: Any) -> bool:
        entry = self.ones.get(id(t))
        return entry is not None and entry[0] is t and entry[1][0] == entry[2]

    def own(self, g: Any) -> Any:
        """``g``, or a product with one (a new tensor) when ``g`` is an alias of an older tensor."""
        if self.aliases.get(id(g)) is g:
            saved = state.grad_enabled
            state.grad_enabled = True  # (a recorded sweep's product, also after the sweep)
            try:
                return bind(_prim("mul"), g, wrap_array(np.ones((), dtype=g._data.dtype)))
            finally:
                state.grad_enabled = saved
        return g

    def _times_one(self, a: Any, b: Any) -> Any:
        """``a * b`` when one factor is a symbolic one and the other a tensor that already has
        the product's shape and dtype: that tensor (exact: x * 1 == x for every float)."""
        if self.is_one(a):
            one, other = a, b
        elif self.is_one(b):
            one, other = b, a
        else:
            return None
        if type(other) is not Tensor:
            return None
        od = other._data
        d = one._data
        if d.dtype != od.dtype or not _broadcasts_into(d.shape, od.shape):
            return None
        self.aliases[id(other)] = other
        return other

    def process_primitive(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self.ones:
            name = prim.name
            if name == "mul" and len(args) == 2:
                out = self._times_one(args[0], args[1])
                if out is not None:
                    return out
            elif name in _ONES_PRESERVING and args and self.is_one(args[0]):
                out = _bind_alone(self, prim, args, params)
                self.add_one(out)
                return out
        if params or prim.batching != _ELEMENTWISE or state.stack is not self.alone:
            # (Another interpreter came onto the stack during the sweep, a hook's tape: the op
            # goes below this one the general way.)
            return _bind_alone(self, prim, args, params)
        # Key: the primitive, the grad mode and the inputs' identities; the entry keeps the
        # inputs alive (so an equal id is the same object) and their storage versions, which
        # rule out a write in place since (a hook's). One and two inputs (every elementwise op
        # a rule calls) are spelled out: this runs once per op of the sweep.
        memo = self.memo
        n = len(args)
        if n == 2:
            a, b = args
            key: tuple[Any, ...] = (prim, state.grad_enabled, id(a), id(b))
            va = a._vc if isinstance(a, Tensor) else None
            vb = b._vc if isinstance(b, Tensor) else None
            versions: Any = (None if va is None else va[0], None if vb is None else vb[0])
            hit = memo.get(key)
            if hit is not None and hit[0] is a and hit[1] is b and hit[2] == versions:
                return hit[3]
            # The only interpreter on an empty stack: bind runs the op directly once busy is off
            # (an elementwise op without params runs no transform that would read the stack).
            state.busy = False
            try:
                out = bind(prim, a, b)
            finally:
                state.busy = True
            memo[key] = (a, b, versions, out)
            return out
        if n == 1:
            a = args[0]
            key = (prim, state.grad_enabled, id(a))
            va = a._vc if isinstance(a, Tensor) else None
            versions = None if va is None else va[0]
            hit = memo.get(key)
            if hit is not None and hit[0] is a and hit[2] == versions:
                return hit[3]
            state.busy = False
            try:
                out = bind(prim, a)
            finally:
                state.busy = True
            memo[key] = (a, None, versions, out)
            return out
        key = (prim, state.grad_enabled, *map(id, args))
        versions = tuple(_version_of(a) for a in args)
        hit = memo.get(key)
        if hit is not None and hit[2] == versions and all(a is b for a, b in zip(hit[0], args)):
            return hit[3]
        out = _bind_alone(self, prim, args, params)
        memo[key] = (args, None, versions, out)
        return out


#: Shape and dtype ops that turn a tensor of ones into a tensor of ones.
_ONES_PRESERVING = frozenset({"reshape", "broadcast_to", "expand_dims", "squeeze"})


def _prim(name: str) -> Any:
    return registry[name]


def _broadcasts_into(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether an array of shape ``small`` broadcasts to ``shape`` without changing it."""
    if small == shape or not small:
        return True
    if len(small) > len(shape):
        return False
    for d, e in zip(reversed(small), reversed(shape)):
        if d != 1 and d != e:
            return False
    return True


def _version_of(a: Any) -> Any:
    if isinstance(a, Tensor):
        vc = a._vc
        return 0 if vc is None else vc[0]
    return None


def _bind_alone(interp: Interpreter, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """``bind_below`` for the only interpreter on the stack, inlined: this runs once per op of a
    recorded sweep."""
    saved = state.stack
    if saved != (interp,):
        return bind_below(interp, prim, args, params)
    # (This thread keeps its BUSY_THREADS entry meanwhile: see set_stack.)
    state.stack = ()
    state.busy = False
    try:
        return bind(prim, *args, **params)
    finally:
        state.stack = saved
        state.busy = True
