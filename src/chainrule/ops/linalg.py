"""Linear algebra: matmul (NumPy's full semantics), einsum, diagonals, and the matrix functions
inv, det, slogdet, solve and cholesky, batched over leading dimensions.

Rules are written with chainrule's primitives (matmul, transpose, reshape, inv, solve...), so
they run on raw arrays during a first-order backward pass and are recorded for higher orders.
Matrix cotangents carry the broadcast batch shape; the engine sums them back to each input.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_operand, ensure_tensor
from chainrule.ops.binary import mul_p
from chainrule.ops.reduce import sum_p
from chainrule.ops.shape import broadcast_to_p, reshape_p, transpose_p
from chainrule.transforms.batching_rules import (
    batch_sizes,
    example_ndim,
    per_example,
    shape_of,
    shift_axis,
    with_example_ndim,
)  # fmt: skip

__all__ = [
    "matmul", "dot", "outer", "einsum", "trace", "diagonal", "inv", "det", "slogdet", "solve",
    "cholesky",
]  # fmt: skip


# ---------------------------------------------------------------- helpers
_arr = as_operand


def _mT(x: Any) -> Any:
    """Swap the last two axes (a view on raw arrays)."""
    nd = x.ndim
    if nd == 2:
        return transpose_p(x, axes=None)
    return transpose_p(x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _col(x: Any) -> Any:
    """``(..., m)`` as a column stack ``(..., m, 1)``."""
    return reshape_p(x, shape=tuple(x.shape) + (1,))


def _row(x: Any) -> Any:
    """``(..., m)`` as a row stack ``(..., 1, m)``."""
    shape = tuple(x.shape)
    return reshape_p(x, shape=shape[:-1] + (1, shape[-1]))


def _drop_last(x: Any) -> Any:
    """``(..., m, 1)`` or ``(..., 1, m)`` back to ``(..., m)``."""
    shape = tuple(x.shape)
    return reshape_p(x, shape=shape[:-2] + (shape[-2] * shape[-1],))


def _scalar_per_matrix(x: Any) -> Any:
    """A batch of scalars ``(...)`` as ``(..., 1, 1)``, to scale a batch of matrices."""
    return reshape_p(x, shape=tuple(x.shape) + (1, 1))


def _square_check(x: Any, op: str) -> None:
    shape = np.shape(x._data if isinstance(x, Tensor) else x)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"{op}: expected a square matrix or a stack of them (shape (..., n, n)), got shape {shape}"
        )


def _float_check(x: Any, op: str) -> None:
    dtype = (x._data if isinstance(x, Tensor) else x).dtype
    if dtype.kind != "f":
        raise TypeError(f"{op}: expected a float32 or float64 matrix, got {dtype}; convert with .astype('float64')")


# ---------------------------------------------------------------- matmul
def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        if a.ndim == 1:  # vector . vector: a scalar
            return g * b
        return _col(g) * b  # (..., m, 1) * (k,) -> (..., m, k)
    if a.ndim == 1 and b.ndim > 2:
        # (k,) @ (..., k, n) -> (..., n): treat a as a row (1, k).
        return _drop_last(matmul_p(_row(g), _mT(b)))
    return matmul_p(g, _mT(b))


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return _col(a) * _row(g)  # (k, 1) * (..., 1, n) -> (..., k, n)
    if b.ndim == 1 and a.ndim > 2:
        # (..., m, k) @ (k,) -> (..., m): treat b as a column (k, 1).
        return _drop_last(matmul_p(_mT(a), _col(g)))
    return matmul_p(_mT(a), g)


def _matmul_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """vmap: one matrix product for the whole batch whenever one side is shared by every example."""
    a, b = vals
    fa, fb = flags
    sa, sb = shape_of(a), shape_of(b)
    ea, eb = len(sa) - (nb if fa else 0), len(sb) - (nb if fb else 0)
    if fa and not fb:
        if ea == 1 and eb <= 2:
            # rows (B.., k) @ (k,) or (k, n): the batch is just more rows.
            return prim(a, b)
        if eb == 2 and ea == 2:
            # (B.., m, k) @ (k, n): stack the batch into rows.
            rows = reshape_p(a, shape=(-1, sa[-1]))
            return reshape_p(prim(rows, b), shape=sa[:-1] + (sb[-1],))
        if eb == 1 and ea >= 2:
            rows = reshape_p(a, shape=(-1, sa[-1]))
            return reshape_p(prim(rows, b), shape=sa[:-1])
        if ea >= eb >= 2:
            return prim(a, b)  # NumPy broadcasts b over a's example axes, right-aligned
    if fb and not fa:
        if eb == 1 and ea == 2:
            # (m, k) @ (B.., k): one product with the batch as rows, b @ a^T.
            return prim(b, transpose_p(a, axes=(1, 0)))
        if eb == 1 and ea == 1:
            return prim(b, a)
        if ea == 1:
            # (k,) @ (B.., k, n) -> (B.., n)
            return prim(a, b)
        if ea == 2 and eb == 2:
            # (m, k) @ (B.., k, n): move the batch into the columns, one product.
            k, n = sb[-2], sb[-1]
            batch = sb[:nb]
            cols = transpose_p(b, axes=(nb,) + tuple(range(nb)) + (nb + 1,))
            cols = reshape_p(cols, shape=(k, -1))
            out = reshape_p(prim(a, cols), shape=(sa[0],) + batch + (n,))
            return transpose_p(out, axes=tuple(range(1, nb + 1)) + (0, nb + 1))
    # General case: both batched (or stacks on both sides): matrix-ify vectors, line the example
    # axes up after the batch axes and let NumPy broadcast.
    squeeze_a = fa and ea == 1
    squeeze_b = fb and eb == 1
    if fa:
        if ea == 1:
            a = reshape_p(a, shape=sa[:nb] + (1, sa[-1]))
            ea = 2
    elif ea == 1:
        a = reshape_p(a, shape=(1, sa[-1]))
        ea = 2
        squeeze_a = True
    if fb:
        if eb == 1:
            b = reshape_p(b, shape=sb[:nb] + (sb[-1], 1))
            eb = 2
    elif eb == 1:
        b = reshape_p(b, shape=(sb[-1], 1))
        eb = 2
        squeeze_b = True
    # A batched operand needs at least as many example axes as the other one, or NumPy would
    # line the other's leading axes up against the batch axes.
    top = max(ea, eb)
    if fa:
        a = with_example_ndim(a, nb, top)
    if fb:
        b = with_example_ndim(b, nb, top)
    out = prim(a, b)
    shp = out._data.shape
    if squeeze_a and squeeze_b:
        return reshape_p(out, shape=shp[:-2])
    if squeeze_a:
        return reshape_p(out, shape=shp[:-2] + shp[-1:])
    if squeeze_b:
        return reshape_p(out, shape=shp[:-1])
    return out


matmul_p = Primitive("matmul", np.matmul, nin=2, grad_fn_name="MmBackward0", batching=_matmul_batch)
matmul_p.def_vjp(_matmul_vjp_a, _matmul_vjp_b).def_linear()


def _check_matmul(sa: tuple[int, ...], sb: tuple[int, ...], op: str = "matmul") -> None:
    if not sa or not sb:
        raise ValueError(
            f"{op}: operands must have at least one dimension, got shapes {sa} and {sb}; "
            "use * to multiply by a scalar"
        )
    ka, kb = sa[-1], (sb[-2] if len(sb) >= 2 else sb[0])
    if ka != kb:
        raise ValueError(
            f"{op}: shapes {sa} and {sb} are not aligned: {ka} (dim {len(sa) - 1}) != "
            f"{kb} (dim {max(len(sb) - 2, 0)})"
        )
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: the batch dimensions {sa[:-2]} and {sb[:-2]} of shapes {sa} and {sb} do not "
            "broadcast together"
        ) from None


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules: vectors are promoted and batch dimensions broadcast.

    >>> import chainrule as cr
    >>> cr.matmul(cr.ones((2, 3)), cr.ones(3))
    tensor([3., 3.], dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    sa, sb = a.shape, b.shape
    if not (len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0]):
        _check_matmul(tuple(sa), tuple(sb))
    return ensure_tensor(matmul_p(a, b))


def dot(a: Any, b: Any) -> Tensor:
    """``numpy.dot``: a product for scalars, matmul up to 2-D, and for N-D a sum over the last
    axis of ``a`` and the second-to-last of ``b``.

    >>> import chainrule as cr
    >>> cr.dot(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor(11., dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    if a.ndim == 0 or b.ndim == 0:
        return ensure_tensor(mul_p(a, b))
    if (b.ndim <= 2 and a.ndim <= 2) or b.ndim == 1:
        if a.shape[-1] != (b.shape[-2] if b.ndim >= 2 else b.shape[0]):
            raise ValueError(
                f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: {a.shape[-1]} "
                f"(dim {a.ndim - 1}) != {b.shape[-2] if b.ndim >= 2 else b.shape[0]} "
                f"(dim {max(b.ndim - 2, 0)})"
            )
        return ensure_tensor(matmul_p(a, b))
    letters = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXYZ"  # "z" is the contracted axis
    if a.ndim + b.ndim - 1 > len(letters):
        raise ValueError(f"dot: too many dimensions ({a.ndim} and {b.ndim})")
    sa = letters[: a.ndim - 1] + "z"
    rest = letters[a.ndim - 1 : a.ndim + b.ndim - 2]
    sb = rest[:-1] + "z" + rest[-1]
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: {a.shape[-1]} "
            f"(dim {a.ndim - 1}) != {b.shape[-2]} (dim {b.ndim - 2})"
        )
    return einsum(f"{sa},{sb}->{sa[:-1]}{rest}", a, b)


def outer(a: Any, b: Any) -> Tensor:
    """Outer product of the flattened inputs: ``out[i, j] = a[i] * b[j]``.

    >>> import chainrule as cr
    >>> cr.outer(cr.tensor([1., 2.]), cr.tensor([1., 10., 100.])).shape
    (2, 3)
    """
    a, b = _arr(a), _arr(b)
    col = reshape_p(a, shape=(int(np.prod(a.shape)), 1))
    row = reshape_p(b, shape=(1, int(np.prod(b.shape))))
    return ensure_tensor(mul_p(col, row))


# ---------------------------------------------------------------- einsum
_EINSUM_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@functools.lru_cache(maxsize=256)
def _split2(subscripts: str) -> tuple[str, str, str]:
    """``"ij,jk->ik"`` as ``("ij", "jk", "ik")`` (the primitive's normalised form)."""
    lhs, out = subscripts.split("->")
    sa, sb = lhs.split(",")
    return sa, sb, out


@functools.lru_cache(maxsize=64)
def _diagonal_mask(subs: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """1 where every repeated subscript letter indexes the same position, else 0."""
    index = np.indices(shape, sparse=True)
    mask = np.ones(shape, dtype=bool)
    first: dict[str, int] = {}
    for pos, c in enumerate(subs):
        if c in first:
            mask &= index[first[c]] == index[pos]
        else:
            first[c] = pos
    out = mask.astype(dtype)
    out.flags.writeable = False
    return out


def _einsum_cotangent(g: Any, other: Any, s_self: str, s_other: str, s_out: str, shape: tuple[int, ...]) -> Any:
    """Cotangent of one einsum operand: contract ``g`` with the other operand, then broadcast the
    letters only this operand had and place repeated letters on their diagonal."""
    uniq = "".join(dict.fromkeys(s_self))
    reachable = set(s_out) | set(s_other)
    kept = "".join(c for c in uniq if c in reachable)
    out = einsum_p(g, other, subscripts=f"{s_out},{s_other}->{kept}")
    sizes = dict(zip(s_self, shape))
    if kept != uniq:
        # Letters summed over in the forward from this operand alone: their cotangent is g repeated.
        out = reshape_p(out, shape=tuple(sizes[c] if c in reachable else 1 for c in uniq))
        out = broadcast_to_p(out, shape=tuple(sizes[c] for c in uniq))
    if uniq != s_self:
        # Repeated letters (a diagonal in the forward): the cotangent lives on that diagonal only.
        seen: set[str] = set()
        spread = []
        for c in s_self:
            spread.append(1 if c in seen else sizes[c])
            seen.add(c)
        out = reshape_p(out, shape=tuple(spread))
        out = out * _diagonal_mask(s_self, tuple(shape), np.dtype(g.dtype))
    return out


def _einsum_vjp_a(g: Any, ans: Any, a: Any, b: Any, *, subscripts: str) -> Any:
    sa, sb, so = _split2(subscripts)
    return _einsum_cotangent(g, b, sa, sb, so, tuple(a.shape))


def _einsum_vjp_b(g: Any, ans: Any, a: Any, b: Any, *, subscripts: str) -> Any:
    sa, sb, so = _split2(subscripts)
    return _einsum_cotangent(g, a, sb, sa, so, tuple(b.shape))


def _einsum_impl(a: Any, b: Any, *, subscripts: str) -> Any:
    return np.einsum(subscripts, a, b)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """vmap: the batch axes become fresh subscripts, kept in the output."""
    subscripts = params["subscripts"]
    lhs, out = subscripts.split("->")
    inputs = lhs.split(",")
    unused = [c for c in _LETTERS if c not in subscripts]
    if len(unused) < nb or "." in subscripts:
        return per_example(prim, vals, flags, nb, params)
    batch_letters = "".join(unused[:nb])
    sizes = batch_sizes(vals, flags, nb)
    args = []
    subs = []
    for v, f, s in zip(vals, flags, inputs):
        if f:
            # einsum does not broadcast a size-1 axis against a longer one: make them full.
            if v._data.shape[:nb] != sizes:
                v = broadcast_to_p(v, shape=sizes + v._data.shape[nb:])
            subs.append(batch_letters + s)
        else:
            subs.append(s)
        args.append(v)
    return prim(*args, subscripts=f"{','.join(subs)}->{batch_letters}{out}")


# Two operands with explicit output; one-operand einsums pass a constant scalar 1 as the second
# (subscripts "ii,->i"), and longer ones are contracted pairwise, left to right.
einsum_p = Primitive("einsum", _einsum_impl, nin=2, grad_fn_name="EinsumBackward0", batching=_einsum_batch)
einsum_p.def_vjp(_einsum_vjp_a, _einsum_vjp_b).def_linear()


def _parse_einsum(subscripts: Any, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: the first argument must be a subscripts string like 'ij,jk->ik', got {type(subscripts).__name__}")
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise ValueError(
            f"einsum: ellipsis ('...') is not supported (in {subscripts!r}); give every dimension "
            "its own letter, e.g. 'bij,bjk->bik'"
        )
    if spec.count("->") > 1 or ("-" in spec.replace("->", "")) or (">" in spec.replace("->", "")):
        raise ValueError(f"einsum: malformed subscripts {subscripts!r}; expected 'ab,bc->ac'")
    lhs, out = spec.split("->") if "->" in spec else (spec, None)
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(inputs)} operand(s) but {len(shapes)} were given"
        )
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for k, (sub, shape) in enumerate(zip(inputs, shapes)):
        for c in sub:
            if c not in _EINSUM_LETTERS:
                raise ValueError(f"einsum: invalid subscript {c!r} in {subscripts!r}; use the letters a-z and A-Z")
        if len(sub) != len(shape):
            raise ValueError(
                f"einsum: operand {k} has {len(shape)} dimension(s) (shape {shape}) but its "
                f"subscripts {sub!r} name {len(sub)}"
            )
        for c, n in zip(sub, shape):
            counts[c] = counts.get(c, 0) + 1
            if c in sizes and sizes[c] != n:
                raise ValueError(
                    f"einsum: dimension {c!r} has size {sizes[c]} in one place and {n} in operand "
                    f"{k} (subscripts {subscripts!r}, shapes {', '.join(map(str, shapes))})"
                )
            sizes[c] = n
    if out is None:
        # Implicit mode, as NumPy: the letters that appear once, in alphabetical (ASCII) order.
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        for c in out:
            if c not in _EINSUM_LETTERS:
                raise ValueError(f"einsum: invalid output subscript {c!r} in {subscripts!r}")
            if c not in counts:
                raise ValueError(f"einsum: output subscript {c!r} in {subscripts!r} appears in no operand")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts {out!r} repeat a letter")
    return inputs, out


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``numpy.einsum`` without ellipsis: explicit (``'ij,jk->ik'``) or
    implicit (``'ij,jk'``: letters that appear once, sorted) output.

    >>> import chainrule as cr
    >>> cr.einsum("ij,j->i", cr.ones((2, 3)), cr.tensor([1., 2., 3.]))
    tensor([6., 6.], dtype=float64)
    >>> cr.einsum("ii", cr.eye(3))
    tensor(3., dtype=float64)
    """
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    ops = [_arr(o) for o in operands]
    inputs, out = _parse_einsum(subscripts, [tuple(o.shape) for o in ops])
    if len(ops) == 1:
        one = np.ones((), dtype=ops[0].dtype)
        return ensure_tensor(einsum_p(ops[0], one, subscripts=f"{inputs[0]},->{out}"))
    result, current = ops[0], inputs[0]
    for k in range(1, len(ops)):
        if k == len(ops) - 1:
            target = out
        else:
            later = set(out).union(*inputs[k + 1 :])
            target = "".join(c for c in dict.fromkeys(current + inputs[k]) if c in later)
        result = einsum_p(result, ops[k], subscripts=f"{current},{inputs[k]}->{target}")
        current = target
    return ensure_tensor(result)


# ---------------------------------------------------------------- diagonal and trace
def _diagonal_impl(x: Any, *, offset: int, axis1: int, axis2: int) -> Any:
    x = np.asarray(x)
    d = np.diagonal(x, offset, axis1, axis2)
    if x.flags.writeable:
        # NumPy hands out diagonals read-only; PyTorch's diagonal is a writable view.
        d.flags.writeable = True
    return d


def _diagonal_scatter_impl(g: Any, *, shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> Any:
    """The adjoint of diagonal: zeros of ``shape`` with ``g`` written on the diagonal."""
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    i = np.arange(g.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def _diagonal_scatter_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                            params: dict[str, Any]) -> Any:  # fmt: skip
    """vmap: the output is the full matrix of each example, its axes after the batch axes."""
    x = vals[0]
    ex = len(params["shape"])
    new = dict(params)
    new["shape"] = x._data.shape[:nb] + tuple(params["shape"])
    new["axis1"] = shift_axis(int(params["axis1"]), ex, nb)
    new["axis2"] = shift_axis(int(params["axis2"]), ex, nb)
    return prim(x, **new)


diagonal_p = Primitive("diagonal", _diagonal_impl, nin=1, saves=(), uses_shapes=True, view=True,
                       batching=("axis", "axis1", "axis2"))  # fmt: skip
diagonal_scatter_p = Primitive("diagonal_scatter", _diagonal_scatter_impl, nin=1, saves=(),
                               batching=_diagonal_scatter_batch)  # fmt: skip
diagonal_p.def_vjp(
    lambda g, ans, x, *, offset, axis1, axis2: diagonal_scatter_p(
        g, shape=tuple(x.shape), offset=offset, axis1=axis1, axis2=axis2
    )
).def_linear()
diagonal_p.def_view(
    lambda base, value, *, offset, axis1, axis2: base + diagonal_scatter_p(
        value - diagonal_p(base, offset=offset, axis1=axis1, axis2=axis2),
        shape=tuple(base.shape), offset=offset, axis1=axis1, axis2=axis2,
    )
)
diagonal_scatter_p.def_vjp(
    lambda g, ans, x, *, shape, offset, axis1, axis2: diagonal_p(g, offset=offset, axis1=axis1, axis2=axis2)
).def_linear()


def _diagonal_axes(x: Any, axis1: int, axis2: int, op: str) -> tuple[int, int]:
    nd = x.ndim
    if nd < 2:
        raise ValueError(f"{op}: needs at least 2 dimensions, got shape {tuple(x.shape)}")
    for a in (axis1, axis2):
        if not -nd <= a < nd:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {nd} dimensions")
    a1, a2 = int(axis1) % nd, int(axis2) % nd
    if a1 == a2:
        raise ValueError(f"{op}: axis1 and axis2 must differ, got {axis1} and {axis2}")
    return a1, a2


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``x[..., i, i + offset]`` over ``axis1``/``axis2``, appended as the last axis
    (``numpy.diagonal``).

    >>> import chainrule as cr
    >>> cr.diagonal(cr.reshape(cr.arange(9.0), (3, 3)), offset=1)
    tensor([1., 5.], dtype=float64)
    """
    x = _arr(x)
    a1, a2 = _diagonal_axes(x, axis1, axis2, "diagonal")
    return ensure_tensor(diagonal_p(x, offset=int(offset), axis1=a1, axis2=a2))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the diagonal (``numpy.trace``).

    >>> import chainrule as cr
    >>> cr.trace(cr.eye(3))
    tensor(3., dtype=float64)
    """
    x = _arr(x)
    a1, a2 = _diagonal_axes(x, axis1, axis2, "trace")
    d = diagonal_p(x, offset=int(offset), axis1=a1, axis2=a2)
    return ensure_tensor(sum_p(d, axis=(x.ndim - 2,), keepdims=False))


# ---------------------------------------------------------------- inv, det, slogdet
# The matrix functions work on the last two axes of stacks already: vmap's batch is more stack.
inv_p = Primitive("inv", np.linalg.inv, nin=1, saves=(), saves_ans=True, grad_fn_name="LinalgInvExBackward0",
                  batching="trailing")  # fmt: skip
inv_p.def_vjp(lambda g, ans, x: -matmul_p(matmul_p(_mT(ans), g), _mT(ans)))
inv_p.def_jvp(lambda t, ans, x: -matmul_p(matmul_p(ans, t), ans))
inv_p.def_jet(T.inv)


def inv(x: Any) -> Tensor:
    """Matrix inverse (batched over leading dimensions).

    >>> import chainrule as cr
    >>> cr.inv(cr.tensor([[2., 0.], [0., 4.]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]], dtype=float64)
    """
    x = _arr(x)
    _square_check(x, "inv")
    _float_check(x, "inv")
    return ensure_tensor(inv_p(x))


det_p = Primitive("det", np.linalg.det, nin=1, saves=(0,), saves_ans=True, grad_fn_name="LinalgDetBackward0",
                  batching="trailing")  # fmt: skip
# d det = det * tr(X^-1 dX): the cotangent is g * det * X^-T (X must be invertible).
det_p.def_vjp(lambda g, ans, x: _scalar_per_matrix(g * ans) * _mT(inv_p(x)))
det_p.def_jvp(lambda t, ans, x: ans * sum_p(_mT(inv_p(x)) * t, axis=(x.ndim - 2, x.ndim - 1)))


def det(x: Any) -> Tensor:
    """Determinant (batched). Its gradient needs an invertible matrix.

    >>> import chainrule as cr
    >>> cr.det(cr.tensor([[2., 1.], [1., 3.]]))
    tensor(5., dtype=float64)
    """
    x = _arr(x)
    _square_check(x, "det")
    _float_check(x, "det")
    return ensure_tensor(det_p(x))


def _logabsdet_impl(x: Any) -> Any:
    return np.linalg.slogdet(x)[1]


logabsdet_p = Primitive("logabsdet", _logabsdet_impl, nin=1, saves=(0,), grad_fn_name="LinalgSlogdetBackward0",
                        batching="trailing")  # fmt: skip
logabsdet_p.def_vjp(lambda g, ans, x: _scalar_per_matrix(g) * _mT(inv_p(x)))
logabsdet_p.def_jvp(lambda t, ans, x: sum_p(_mT(inv_p(x)) * t, axis=(x.ndim - 2, x.ndim - 1)))


def _slogdet_sign_impl(x: Any) -> Any:
    return np.linalg.slogdet(x)[0]


# The sign is piecewise constant: a primitive of its own with no derivative (and so no data
# read outside a primitive, which keeps slogdet working under vmap).
slogdet_sign_p = Primitive("slogdet_sign", _slogdet_sign_impl, nin=1, saves=(), differentiable=False,
                           batching="trailing")  # fmt: skip


def slogdet(x: Any) -> tuple[Tensor, Tensor]:
    """``(sign, log|det|)``, stable where ``det`` would over- or underflow. Only ``log|det|``
    carries a gradient (the sign is piecewise constant).

    >>> import chainrule as cr
    >>> sign, logabs = cr.slogdet(cr.tensor([[-2., 0.], [0., 3.]]))
    >>> float(sign), round(float(logabs), 6)
    (-1.0, 1.791759)
    """
    x = _arr(x)
    _square_check(x, "slogdet")
    _float_check(x, "slogdet")
    return ensure_tensor(slogdet_sign_p(x)), ensure_tensor(logabsdet_p(x))


# ---------------------------------------------------------------- solve
def _solve_impl(a: Any, b: Any) -> Any:
    return np.linalg.solve(a, b)


def _solve_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        # b is one vector, possibly solved against a batch of matrices: work with columns.
        gb = solve_p(_mT(a), _col(g))
        return -(gb * _row(ans))
    return -matmul_p(solve_p(_mT(a), g), _mT(ans))


def _solve_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        return _drop_last(solve_p(_mT(a), _col(g)))
    return solve_p(_mT(a), g)


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        return -_drop_last(solve_p(a, matmul_p(t, _col(ans))))
    return -solve_p(a, matmul_p(t, ans))


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1 and a.ndim > 2:
        return _drop_last(solve_p(a, _col(t)))
    return solve_p(a, t)


def _solve_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """vmap: ``b`` is one vector per example when its example part is 1-D: solve for a column."""
    a, b = vals
    fa, fb = flags
    ea, eb = example_ndim(a, fa, nb), example_ndim(b, fb, nb)
    vector = fb and eb == 1
    if vector:
        b = reshape_p(b, shape=b._data.shape + (1,))
        eb = 2
    # As for matmul: a batched operand gets at least the other's number of example axes.
    top = max(ea, eb)
    if fa:
        a = with_example_ndim(a, nb, top)
    if fb:
        b = with_example_ndim(b, nb, top)
    out = prim(a, b)
    if vector:
        return reshape_p(out, shape=out._data.shape[:-1])
    return out


solve_p = Primitive("solve", _solve_impl, nin=2, saves=(0,), saves_ans=True, uses_shapes=True,
                    grad_fn_name="LinalgSolveExBackward0", batching=_solve_batch)  # fmt: skip
solve_p.def_vjp(_solve_vjp_a, _solve_vjp_b)
solve_p.def_jvp(_solve_jvp_a, _solve_jvp_b)
solve_p.def_jet(T.solve)


def solve(a: Any, b: Any) -> Tensor:
    """Solve ``a @ x = b`` for ``x``. ``b`` is one vector when it is 1-D, else a stack of
    matrices ``(..., n, k)`` (NumPy 2's rule); batch dimensions broadcast.

    >>> import chainrule as cr
    >>> cr.solve(cr.tensor([[2., 0.], [0., 4.]]), cr.tensor([2., 2.]))
    tensor([1. , 0.5], dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    _square_check(a, "solve")
    _float_check(a, "solve")
    n = a.shape[-1]
    if b.ndim == 0 or (b.ndim == 1 and b.shape[0] != n) or (b.ndim >= 2 and b.shape[-2] != n):
        raise ValueError(
            f"solve: a has shape {tuple(a.shape)} but b has shape {tuple(b.shape)}; b must be "
            f"({n},) or (..., {n}, k)"
        )
    if b.ndim >= 2:
        try:
            np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        except ValueError:
            raise ValueError(
                f"solve: the batch dimensions of a {tuple(a.shape)} and b {tuple(b.shape)} do not "
                "broadcast together"
            ) from None
    return ensure_tensor(solve_p(a, b))


# ---------------------------------------------------------------- cholesky
@functools.lru_cache(maxsize=32)
def _phi_mask(n: int, dtype: np.dtype) -> np.ndarray:
    """Lower triangle with the diagonal halved: Φ(X) = mask * X."""
    mask = (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(dtype)
    mask.flags.writeable = False
    return mask


def _cholesky_vjp(g: Any, ans: Any, x: Any) -> Any:
    # With A = L L^T: Ā = sym(L^-T Φ(L^T L̄) L^-1), Φ = lower triangle with halved diagonal.
    linv = inv_p(ans)
    phi = _phi_mask(ans.shape[-1], np.dtype(g.dtype)) * matmul_p(_mT(ans), g)
    s = matmul_p(matmul_p(_mT(linv), phi), linv)
    return (s + _mT(s)) * 0.5


def _cholesky_jvp(t: Any, ans: Any, x: Any) -> Any:
    # dL = L Φ(L^-1 sym(dA) L^-T); only the symmetric part of a perturbation is seen.
    linv = inv_p(ans)
    sym = (t + _mT(t)) * 0.5
    inner = matmul_p(matmul_p(linv, sym), _mT(linv))
    return matmul_p(ans, _phi_mask(ans.shape[-1], np.dtype(t.dtype)) * inner)


cholesky_p = Primitive("cholesky", np.linalg.cholesky, nin=1, saves=(), saves_ans=True,
                       grad_fn_name="LinalgCholeskyExBackward0", batching="trailing")  # fmt: skip
cholesky_p.def_vjp(_cholesky_vjp)
cholesky_p.def_jvp(_cholesky_jvp)


def cholesky(x: Any) -> Tensor:
    """Lower-triangular ``L`` with ``x = L @ L.T`` for a symmetric positive-definite ``x``
    (batched). Only the lower triangle of ``x`` is read; the gradient is the symmetric one.

    >>> import chainrule as cr
    >>> cr.cholesky(cr.tensor([[4., 2.], [2., 2.]]))
    tensor([[2., 0.],
            [1., 1.]], dtype=float64)
    """
    x = _arr(x)
    _square_check(x, "cholesky")
    _float_check(x, "cholesky")
    return ensure_tensor(cholesky_p(x))


# ---------------------------------------------------------------- Tensor methods
def install() -> None:
    """Attach ``@``, ``.dot``, ``.trace`` and ``.diagonal`` to Tensor."""
    Tensor.__matmul__ = lambda self, other: matmul(self, other)
    Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
    Tensor.dot = lambda self, other: dot(self, other)
    Tensor.trace = lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2)
    Tensor.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)
