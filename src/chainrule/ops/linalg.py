"""Linear algebra: matmul (NumPy's full semantics), einsum, diagonals, and the matrix functions
inv, det, slogdet, solve and cholesky, batched over leading dimensions.

Rules are written with chainrule's primitives (matmul, transpose, reshape, inv, solve...), so
they run on raw arrays during a first-order backward pass and are recorded for higher orders.
Matrix cotangents carry the broadcast batch shape; the engine sums them back to each input.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from chainrule.core.backend import UnsupportedOnLibrary, dtype_kind, is_foreign, namespace_of
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_operand, ensure_tensor
from chainrule.ops._like import const_like, data_of, linalg_fn, np_dtype
from chainrule.ops.binary import mul_p
from chainrule.ops.reduce import max_p, min_p, norm_p, sum_p
from chainrule.ops.shape import broadcast_to_p, concat2_p, reshape_p, transpose_p
from chainrule.ops.unary import abs_p
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
# NumPy's further products and diag (the block at the end of this file).
__all__ += ["diag", "kron", "inner", "tensordot", "cross"]


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
    if dtype_kind(dtype) != "f":
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
    if len(sa) <= 2 and len(sb) <= 2:
        return  # (no batch dimensions to broadcast: np.broadcast_shapes is a Python function)
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
        out = out * const_like(_diagonal_mask(s_self, tuple(shape), np_dtype(g.dtype)), g)
    return out


def _einsum_vjp_a(g: Any, ans: Any, a: Any, b: Any, *, subscripts: str) -> Any:
    sa, sb, so = _split2(subscripts)
    return _einsum_cotangent(g, b, sa, sb, so, tuple(a.shape))


def _einsum_vjp_b(g: Any, ans: Any, a: Any, b: Any, *, subscripts: str) -> Any:
    sa, sb, so = _split2(subscripts)
    return _einsum_cotangent(g, a, sb, sa, so, tuple(b.shape))


def _einsum_impl(a: Any, b: Any, *, subscripts: str, xp: Any = np) -> Any:
    if xp is np:
        return np.einsum(subscripts, a, b)
    if not hasattr(b, "shape"):  # the constant 1 of a one-operand einsum, now a Python number
        b = xp.asarray(b, dtype=a.dtype)
    fn = getattr(xp, "einsum", None)
    if fn is not None:  # Dask, CuPy
        return fn(subscripts, a, b)
    return _einsum_standard(xp, a, b, subscripts)


def _einsum_diagonals(xp: Any, x: Any, subs: str) -> tuple[Any, str]:
    """Repeated letters of one operand reduced to their diagonal (moved last), by an identity mask."""
    while len(set(subs)) != len(subs):
        c = next(c for c in subs if subs.count(c) > 1)
        i = subs.index(c)
        j = subs.index(c, i + 1)
        rest = [k for k in range(len(subs)) if k not in (i, j)]
        x = xp.permute_dims(x, tuple(rest) + (i, j))
        n = x.shape[-1]
        x = xp.sum(x * xp.eye(n, dtype=x.dtype), axis=-1)
        subs = "".join(subs[k] for k in rest) + c
    return x, subs


def _einsum_standard(xp: Any, a: Any, b: Any, subscripts: str) -> Any:
    """A two-operand einsum from the array API's own functions (for libraries without einsum):
    diagonals and one-sided sums first, then one batched matmul of (batch, free, contracted)
    against (batch, contracted, free)."""
    sa, sb, so = _split2(subscripts)
    a, sa = _einsum_diagonals(xp, a, sa)
    b, sb = _einsum_diagonals(xp, b, sb)
    only_a = tuple(k for k, c in enumerate(sa) if c not in sb and c not in so)
    if only_a:
        a = xp.sum(a, axis=only_a)
        sa = "".join(c for k, c in enumerate(sa) if k not in only_a)
    only_b = tuple(k for k, c in enumerate(sb) if c not in sa and c not in so)
    if only_b:
        b = xp.sum(b, axis=only_b)
        sb = "".join(c for k, c in enumerate(sb) if k not in only_b)
    batch = [c for c in sa if c in sb and c in so]
    summed = [c for c in sa if c in sb and c not in so]
    free_a = [c for c in sa if c not in sb]
    free_b = [c for c in sb if c not in sa]
    size = dict(zip(sa, a.shape))
    size.update({c: max(n, size.get(c, n)) for c, n in zip(sb, b.shape)})
    a = xp.permute_dims(a, tuple(sa.index(c) for c in batch + free_a + summed))
    b = xp.permute_dims(b, tuple(sb.index(c) for c in batch + summed + free_b))
    nb = len(batch)
    k = math.prod(size[c] for c in summed)
    a = xp.reshape(a, tuple(a.shape[:nb]) + (math.prod(size[c] for c in free_a), k))
    b = xp.reshape(b, tuple(b.shape[:nb]) + (k, math.prod(size[c] for c in free_b)))
    out = xp.matmul(a, b)
    order = batch + free_a + free_b
    out = xp.reshape(out, tuple(out.shape[:nb]) + tuple(size[c] for c in free_a + free_b))
    return xp.permute_dims(out, tuple(order.index(c) for c in so))


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


def _interleaved(first: Any, rest: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as ``("ab,bc->ac", (a, b))``."""
    args = (first,) + rest
    out_list = args[-1] if len(args) % 2 else None
    pairs = args[: len(args) - 1] if len(args) % 2 else args
    operands, subs = pairs[0::2], pairs[1::2]
    if not operands:
        raise ValueError("einsum: needs at least one operand")

    def letters(sublist: Any) -> str:
        if not isinstance(sublist, (list, tuple)):
            raise TypeError(
                "einsum: the first argument must be a subscripts string like 'ij,jk->ik', or an "
                "operand of the interleaved form einsum(a, [0, 1], b, [1, 2], [0, 2]), where each "
                f"operand is followed by a list of ints (or ...); got {type(sublist).__name__} where "
                "that list belongs"
            )
        out = []
        for item in sublist:
            if item is Ellipsis:
                out.append("...")
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < len(_LETTERS):
                out.append(_LETTERS[int(item)])
            else:
                raise ValueError(f"einsum: a subscript must be an int in [0, {len(_LETTERS)}) or ..., got {item!r}")
        return "".join(out)

    spec = ",".join(letters(sub) for sub in subs)
    if out_list is not None:
        spec += "->" + letters(out_list)
    return spec, operands


def _expand_ellipsis(spec: str, shapes: list[tuple[int, ...]]) -> str:
    """Replace ``...`` by fresh letters (right-aligned, broadcast as NumPy does); an implicit
    output becomes explicit: the ellipsis dimensions first, then the letters used once, sorted."""
    lhs, out = spec.split("->") if "->" in spec else (spec, None)
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: subscripts {spec!r} name {len(inputs)} operand(s) but {len(shapes)} were given")
    fresh = [c for c in _LETTERS if c not in spec]
    ell_shapes: list[tuple[int, ...] | None] = []
    for k, (sub, shape) in enumerate(zip(inputs, shapes)):
        if "..." in sub:
            if sub.count("...") > 1 or "." in sub.replace("...", "", 1):
                raise ValueError(f"einsum: operand {k}'s subscripts {sub!r} may hold one '...' and no other '.'")
            n = len(shape) - (len(sub) - 3)
            if n < 0:
                raise ValueError(
                    f"einsum: operand {k} has {len(shape)} dimension(s) (shape {shape}) but its "
                    f"subscripts {sub!r} name {len(sub) - 3} besides '...'"
                )
            start = sub.index("...")
            ell_shapes.append(tuple(shape[start : start + n]))
        elif "." in sub:
            raise ValueError(f"einsum: malformed subscripts {sub!r}; an ellipsis is written '...'")
        else:
            ell_shapes.append(None)
    present = [e for e in ell_shapes if e is not None]
    try:
        full = np.broadcast_shapes(*present) if present else ()
    except ValueError:
        raise ValueError(
            f"einsum: the '...' dimensions of the operands ({', '.join(map(str, present))}) do not "
            f"broadcast together (subscripts {spec!r})"
        ) from None
    if len(full) > len(fresh):
        raise ValueError(f"einsum: too many dimensions under '...' in {spec!r}")
    ell = "".join(fresh[: len(full)])
    new_inputs = [
        sub if e is None else sub.replace("...", ell[len(ell) - len(e) :]) for sub, e in zip(inputs, ell_shapes)
    ]
    if out is None:
        counts: dict[str, int] = {}
        for sub in inputs:
            for c in sub.replace(".", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    elif "..." in out:
        if out.count("...") > 1 or "." in out.replace("...", "", 1):
            raise ValueError(f"einsum: the output subscripts {out!r} may hold one '...' and no other '.'")
        out = out.replace("...", ell)
    elif full:
        raise ValueError(
            f"einsum: the operands have dimensions under '...' ({full}) but the output {out!r} has "
            "no '...' to put them in (as NumPy)"
        )
    return ",".join(new_inputs) + "->" + out


def _squeeze_broadcast(inputs: list[str], ops: list[Any]) -> tuple[list[str], list[Any]]:
    """NumPy's einsum broadcasts a size-1 dimension against the same letter's longer one: drop
    it from that operand (a reshape), so that the contraction sees consistent sizes."""
    sizes: dict[str, int] = {}
    for sub, op in zip(inputs, ops):
        for c, n in zip(sub, op.shape):
            sizes[c] = max(sizes.get(c, n), n)
    new_inputs, new_ops = [], []
    for sub, op in zip(inputs, ops):
        shape = tuple(op.shape)
        if len(sub) == len(shape):
            drop = [i for i, (c, n) in enumerate(zip(sub, shape)) if n == 1 and sizes[c] > 1 and sub.count(c) == 1]
            if drop:
                sub = "".join(c for i, c in enumerate(sub) if i not in drop)
                op = reshape_p(op, shape=tuple(n for i, n in enumerate(shape) if i not in drop))
        new_inputs.append(sub)
        new_ops.append(op)
    return new_inputs, new_ops


def einsum(subscripts: Any, *operands: Any) -> Tensor:
    """Einstein summation with ``numpy.einsum``'s forms: explicit (``'ij,jk->ik'``) or implicit
    (``'ij,jk'``: the letters used once, sorted) output, ``...`` for broadcast leading (or any)
    dimensions, size-1 dimensions broadcast, and the interleaved form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    >>> import chainrule as cr
    >>> cr.einsum("ij,j->i", cr.ones((2, 3)), cr.tensor([1., 2., 3.]))
    tensor([6., 6.], dtype=float64)
    >>> cr.einsum("ii", cr.eye(3))
    tensor(3., dtype=float64)
    >>> cr.einsum("...ij,...jk->...ik", cr.ones((5, 2, 3)), cr.ones((3, 4))).shape
    (5, 2, 4)
    >>> cr.einsum(cr.ones((2, 3)), [0, 1], cr.ones(3), [1], [0])
    tensor([3., 3.], dtype=float64)
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved(subscripts, operands)
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    ops = [_arr(o) for o in operands]
    spec = subscripts.replace(" ", "")
    if "." in spec:
        spec = _expand_ellipsis(spec, [tuple(o.shape) for o in ops])
    if len(ops) > 1 and spec.count("->") <= 1:
        lhs, _, out_spec = spec.partition("->")
        if "->" not in spec:  # make the implicit output explicit before any letter is dropped
            lhs_letters = lhs.replace(",", "")
            out_spec = "".join(sorted(c for c in set(lhs_letters) if lhs_letters.count(c) == 1))
        if lhs.count(",") == len(ops) - 1 and all(c in _EINSUM_LETTERS for c in lhs.replace(",", "") + out_spec):
            subs, ops = _squeeze_broadcast(lhs.split(","), ops)
            spec = ",".join(subs) + "->" + out_spec
    inputs, out = _parse_einsum(spec, [tuple(o.shape) for o in ops])
    if len(ops) == 1:
        one = np.ones((), dtype=np_dtype(ops[0].dtype))
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
def _diagonal_impl(x: Any, *, offset: int, axis1: int, axis2: int, xp: Any = np) -> Any:
    if xp is not np:
        rest = tuple(k for k in range(x.ndim) if k not in (axis1, axis2))
        moved = xp.permute_dims(x, rest + (axis1, axis2))
        return linalg_fn(xp, "diagonal", "diagonal")(moved, offset=offset)
    x = np.asarray(x)
    d = np.diagonal(x, offset, axis1, axis2)
    if x.flags.writeable:
        # NumPy hands out diagonals read-only; PyTorch's diagonal is a writable view.
        d.flags.writeable = True
    return d


def _diagonal_scatter_impl(g: Any, *, shape: tuple[int, ...], offset: int, axis1: int, axis2: int,
                           xp: Any = np) -> Any:  # fmt: skip
    """The adjoint of diagonal: zeros of ``shape`` with ``g`` written on the diagonal."""
    if xp is not np:
        return _diagonal_scatter_standard(xp, g, shape, offset, axis1, axis2)
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    if len(shape) == 2 and g.ndim == 1 and axis1 % 2 == 0 and axis2 % 2 == 1:
        # A matrix's own diagonal (the dense Jacobian basis): a strided write into the flat
        # zeros, without moveaxis and the index arrays.
        n, m = shape
        length = min(n + min(offset, 0), m - max(offset, 0))
        if g.shape[0] == length > 0:
            start = offset if offset >= 0 else -offset * m
            out.reshape(-1)[start:start + (length - 1) * (m + 1) + 1:m + 1] = g
            return out
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    i = np.arange(g.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def _diagonal_scatter_standard(xp: Any, g: Any, shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> Any:
    # Without writes into an array (Dask, JAX): column c of row r holds g[c - max(offset, 0)]
    # where c - r == offset, 0 elsewhere, a select between g spread along the columns and 0.
    n, m = shape[axis1], shape[axis2]
    rest = tuple(k for k in range(len(shape)) if k not in (axis1, axis2))
    length = g.shape[-1]
    if length == 0:
        return xp.zeros(shape, dtype=g.dtype)
    cols = np.clip(np.arange(m) - max(offset, 0), 0, length - 1)
    on_diag = np.arange(m)[None, :] - np.arange(n)[:, None] == offset
    spread = xp.expand_dims(xp.take(g, xp.asarray(cols), axis=-1), axis=-2)
    full = xp.where(xp.asarray(on_diag), spread, xp.zeros((), dtype=g.dtype))
    order = rest + (axis1, axis2)
    return xp.permute_dims(full, tuple(order.index(k) for k in range(len(shape))))


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
# Their forwards call NumPy's LAPACK wrappers directly on NumPy's path and the array API's
# linalg extension (``xp.linalg``) for another library's arrays.
def _inv_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.inv(x)
    return linalg_fn(xp, "inv", "inv")(x)


def _det_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.det(x)
    return linalg_fn(xp, "det", "det")(x)


inv_p = Primitive("inv", _inv_impl, nin=1, saves=(), saves_ans=True, grad_fn_name="LinalgInvExBackward0",
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


det_p = Primitive("det", _det_impl, nin=1, saves=(0,), saves_ans=True, grad_fn_name="LinalgDetBackward0",
                  batching="trailing")  # fmt: skip
# d det = det * tr(X^-1 dX): the cotangent is g * det * X^-T (X must be invertible).
det_p.def_vjp(lambda g, ans, x: _scalar_per_matrix(g * ans) * _mT(inv_p(x)))
det_p.def_jvp(lambda t, ans, x: ans * sum_p(_mT(inv_p(x)) * t, axis=(x.ndim - 2, x.ndim - 1)))
det_p.def_jet(T.det)


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


def _logabsdet_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.slogdet(x)[1]
    return linalg_fn(xp, "slogdet", "slogdet")(x)[1]


logabsdet_p = Primitive("logabsdet", _logabsdet_impl, nin=1, saves=(0,), grad_fn_name="LinalgSlogdetBackward0",
                        batching="trailing")  # fmt: skip
logabsdet_p.def_vjp(lambda g, ans, x: _scalar_per_matrix(g) * _mT(inv_p(x)))
logabsdet_p.def_jvp(lambda t, ans, x: sum_p(_mT(inv_p(x)) * t, axis=(x.ndim - 2, x.ndim - 1)))
logabsdet_p.def_jet(T.logabsdet)


def _slogdet_sign_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.slogdet(x)[0]
    return linalg_fn(xp, "slogdet", "slogdet")(x)[0]


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
def _solve_impl(a: Any, b: Any, *, xp: Any = np) -> Any:
    # (The array API's solve has NumPy 2's rule: a 1-D b is one vector, else a stack of matrices.)
    if xp is np:
        return np.linalg.solve(a, b)
    return linalg_fn(xp, "solve", "solve")(a, b)


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
    phi = const_like(_phi_mask(ans.shape[-1], np_dtype(g.dtype)), g) * matmul_p(_mT(ans), g)
    s = matmul_p(matmul_p(_mT(linv), phi), linv)
    return (s + _mT(s)) * 0.5


def _cholesky_jvp(t: Any, ans: Any, x: Any) -> Any:
    # dL = L Φ(L^-1 sym(dA) L^-T); only the symmetric part of a perturbation is seen.
    linv = inv_p(ans)
    sym = (t + _mT(t)) * 0.5
    inner = matmul_p(matmul_p(linv, sym), _mT(linv))
    return matmul_p(ans, const_like(_phi_mask(ans.shape[-1], np_dtype(t.dtype)), t) * inner)


def _cholesky_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.cholesky(x)
    # NumPy reads the lower triangle only; the standard leaves that to the library: hand it the
    # symmetric matrix of the lower triangle, so every library sees the same input.
    fn = linalg_fn(xp, "cholesky", "cholesky")
    if getattr(xp, "__name__", "").endswith("dask.array"):
        # array_api_compat (1.x) forwards to dask's cholesky, whose default is the UPPER factor.
        return fn(_sym_from_lower(xp, x), lower=True)
    return fn(_sym_from_lower(xp, x))


def _sym_from_lower(xp: Any, x: Any) -> Any:
    return xp.tril(x) + xp.matrix_transpose(xp.tril(x, k=-1))


cholesky_p = Primitive("cholesky", _cholesky_impl, nin=1, saves=(), saves_ans=True,
                       grad_fn_name="LinalgCholeskyExBackward0", batching="trailing")  # fmt: skip
cholesky_p.def_vjp(_cholesky_vjp)
cholesky_p.def_jvp(_cholesky_jvp)
cholesky_p.def_jet(T.cholesky)


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


# ---------------------------------------------------------------- svd, eigh, eig: packed outputs
# A primitive has one output, so a decomposition returns its factors packed into one array along
# the second-to-last axis (svd: [U; s; V] of shape (..., m + 1 + n, k); eigh/eig: [w; V] of shape
# (..., n + 1, n)) and the public function slices them apart. One factorization then serves all
# factors, and the rules see the cotangents of all of them at once.
def _eye(n: int, dtype: Any, like: Any = None) -> Any:
    """The identity, in the library of ``like`` (NumPy's when None or NumPy data)."""
    eye = np.eye(n, dtype=np_dtype(dtype))
    return eye if like is None else const_like(eye, like)


def _diag_embed(v: Any) -> Any:
    """``(..., k)`` as diagonal matrices ``(..., k, k)``."""
    k = v.shape[-1]
    return _col(v) * _eye(k, v.dtype, v)


def _diag_part(x: Any) -> Any:
    nd = x.ndim
    return diagonal_p(x, offset=0, axis1=nd - 2, axis2=nd - 1)


def _inv_gaps(e: Any) -> Any:
    """``F[..., i, j] = 1 / (e_j - e_i)`` off the diagonal, 0 on it."""
    k = e.shape[-1]
    eye = _eye(k, e.dtype, e)
    return (1.0 - eye) / (_row(e) - _col(e) + eye)


def _svd_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        return np.concatenate([u, s[..., None, :], np.swapaxes(vh, -1, -2)], axis=-2)
    u, s, vh = linalg_fn(xp, "svd", "svd")(x, full_matrices=False)
    return xp.concat([u, xp.expand_dims(s, axis=-2), xp.matrix_transpose(vh)], axis=-2)


def _svd_unpack(p: Any, m: int) -> tuple[Any, Any, Any]:
    return p[..., :m, :], p[..., m, :], p[..., m + 1 :, :]


def _svd_vjp(g: Any, ans: Any, x: Any) -> Any:
    # With A = U diag(s) V^T (reduced), dP = U^T dA V, F_ij = 1/(s_j^2 - s_i^2):
    # Ā = U [(J + J^T) S + diag(s̄) + S (K + K^T)] V^T + (I - UU^T) Ū S^-1 V^T + U S^-1 V̄^T (I - VV^T)
    # with J = F∘(U^T Ū), K = F∘(V^T V̄) (the last two terms only for non-square A).
    m, n = x.shape[-2], x.shape[-1]
    k = min(m, n)
    u, s, v = _svd_unpack(ans, m)
    gu, gs, gv = _svd_unpack(g, m)
    f = _inv_gaps(s * s)
    j = f * matmul_p(_mT(u), gu)
    kk = f * matmul_p(_mT(v), gv)
    inner = (j + _mT(j)) * _row(s) + _col(s) * (kk + _mT(kk)) + _diag_embed(gs)
    out = matmul_p(matmul_p(u, inner), _mT(v))
    if m > k:
        out = out + matmul_p((gu - matmul_p(u, matmul_p(_mT(u), gu))) * _row(1.0 / s), _mT(v))
    if n > k:
        gvt = _mT(gv)
        out = out + matmul_p(u * _row(1.0 / s), gvt - matmul_p(matmul_p(gvt, v), _mT(v)))
    return out


def _svd_jvp(t: Any, ans: Any, x: Any) -> Any:
    # dP = U^T dA V; ds = diag(dP); dU = U (F∘(dP S + S dP^T)) + (I - UU^T) dA V S^-1;
    # dV = V (F∘(S dP + dP^T S)) + (I - VV^T) dA^T U S^-1.
    m, n = x.shape[-2], x.shape[-1]
    k = min(m, n)
    u, s, v = _svd_unpack(ans, m)
    tv = matmul_p(t, v)
    dp = matmul_p(_mT(u), tv)
    dpt = _mT(dp)
    f = _inv_gaps(s * s)
    du = matmul_p(u, f * (dp * _row(s) + _col(s) * dpt))
    dv = matmul_p(v, f * (_col(s) * dp + dpt * _row(s)))
    if m > k:
        du = du + (tv - matmul_p(u, dp)) * _row(1.0 / s)
    if n > k:
        du_v = matmul_p(_mT(t), u)
        dv = dv + (du_v - matmul_p(v, dpt)) * _row(1.0 / s)
    ax = len(t.shape) - 2
    return concat2_p(concat2_p(du, _row(_diag_part(dp)), axis=ax), dv, axis=ax)


svd_p = Primitive("svd", _svd_impl, nin=1, saves=(), saves_ans=True, uses_shapes=True,
                  grad_fn_name="LinalgSvdBackward0", batching="trailing")  # fmt: skip
svd_p.def_vjp(_svd_vjp)
svd_p.def_jvp(_svd_jvp)
svd_p.def_jet(T.svd)


def _svdvals_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.svd(x, compute_uv=False)
    return linalg_fn(xp, "svdvals", "svd")(x)


def _svdvals_vjp(g: Any, ans: Any, x: Any) -> Any:
    u, _, v = _svd_unpack(svd_p(x), x.shape[-2])
    return matmul_p(u * _row(g), _mT(v))


def _svdvals_jvp(t: Any, ans: Any, x: Any) -> Any:
    u, _, v = _svd_unpack(svd_p(x), x.shape[-2])
    return sum_p(u * matmul_p(t, v), axis=(len(t.shape) - 2,), keepdims=False)


# The singular values alone: their gradient U diag(s̄) V^T needs no gap between them.
svdvals_p = Primitive("svdvals", _svdvals_impl, nin=1, saves=(0,), grad_fn_name="LinalgSvdBackward0",
                      batching="trailing")  # fmt: skip
svdvals_p.def_vjp(_svdvals_vjp)
svdvals_p.def_jvp(_svdvals_jvp)
svdvals_p.def_jet(T.svdvals)


def _svd_full_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is not np:
        return _svd_full_standard(xp, x)
    u, s, vh = np.linalg.svd(x, full_matrices=True)
    m, n = x.shape[-2], x.shape[-1]
    width = max(m, n)
    pad = [(0, 0)] * (x.ndim - 2)
    u = np.pad(u, pad + [(0, 0), (0, width - m)])
    s = np.pad(s, pad + [(0, width - s.shape[-1])])
    v = np.pad(np.swapaxes(vh, -1, -2), pad + [(0, 0), (0, width - n)])
    return np.concatenate([u, s[..., None, :], v], axis=-2)


def _svd_full_standard(xp: Any, x: Any) -> Any:
    u, s, vh = linalg_fn(xp, "svd", "svd")(x, full_matrices=True)
    m, n = x.shape[-2], x.shape[-1]
    width = max(m, n)
    lead = tuple(x.shape[:-2])

    def widen(a: Any, rows: int, cols: int) -> Any:
        if cols == width:
            return a
        return xp.concat([a, xp.zeros(lead + (rows, width - cols), dtype=a.dtype)], axis=-1)

    s = widen(xp.expand_dims(s, axis=-2), 1, s.shape[-1])
    return xp.concat([widen(u, m, m), s, widen(xp.matrix_transpose(vh), n, n)], axis=-2)


def _svd_full_rule(s: Any, ans: Any, x: Any) -> Any:
    raise NotImplementedError(
        f"svd: no derivative for full_matrices=True on a non-square matrix (shape "
        f"{tuple(x.shape)}): the extra columns of U or V are an arbitrary basis and have no "
        "gradient; use full_matrices=False (as JAX, which raises here too)"
    )


# full_matrices=True on a non-square matrix: the forward only; its rules raise (clearly) rather
# than give a gradient for an arbitrary basis.
svd_full_p = Primitive("svd_full", _svd_full_impl, nin=1, saves=(), uses_shapes=True, batching="trailing")
svd_full_p.def_chain(_svd_full_rule)
svd_full_p.def_jet(lambda ans, x: _svd_full_rule(None, ans, x[0]))


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """Singular value decomposition ``a = U @ diag(s) @ Vh`` (``numpy.linalg.svd``), batched over
    leading dimensions; returns ``(U, s, Vh)``, or ``s`` alone with ``compute_uv=False``.

    Gradients: ``s`` alone (``compute_uv=False``) is differentiable everywhere the singular
    values are; through ``U`` and ``Vh`` the gradient needs distinct singular values (nonzero
    ones when ``a`` is not square), as in JAX and PyTorch: where two coincide it is inf/nan.
    With ``full_matrices=True`` on a non-square ``a`` the extra columns are an arbitrary basis:
    differentiating through that form raises (use ``full_matrices=False``). ``hermitian`` is
    accepted and ignored (the general algorithm gives the same factors up to signs).

    >>> import chainrule as cr
    >>> u, s, vh = cr.linalg.svd(cr.tensor([[3., 0.], [0., -2.]]))
    >>> s
    tensor([3., 2.], dtype=float64)
    >>> (u * s) @ vh
    tensor([[ 3.,  0.],
            [ 0., -2.]], dtype=float64)
    """
    x = _arr(a)
    if x.ndim < 2:
        raise ValueError(f"svd: expected a matrix or a stack of them (shape (..., m, n)), got shape {tuple(x.shape)}")
    _float_check(x, "svd")
    if not compute_uv:
        return ensure_tensor(svdvals_p(x))
    m, n = x.shape[-2], x.shape[-1]
    if full_matrices and m != n:
        p = svd_full_p(x)
        k = min(m, n)
        u = p[..., :m, :m]
        s = p[..., m, :k]
        vh = _mT(p[..., m + 1 :, :n])
        return ensure_tensor(u), ensure_tensor(s), ensure_tensor(vh)
    u, s, v = _svd_unpack(svd_p(x), m)
    return ensure_tensor(u), ensure_tensor(s), ensure_tensor(_mT(v))


# ---------------------------------------------------------------- eigh, eigvalsh
@functools.lru_cache(maxsize=32)
def _triangle_masks(n: int, upper: bool, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(the triangle LAPACK reads, that triangle without its diagonal)."""
    ones = np.ones((n, n), dtype=dtype)
    full, strict = (np.triu(ones), np.triu(ones, 1)) if upper else (np.tril(ones), np.tril(ones, -1))
    full.flags.writeable = strict.flags.writeable = False
    return full, strict


def _from_triangle(t: Any, uplo: str) -> Any:
    """The symmetric matrix LAPACK sees when it reads only the ``uplo`` triangle of ``t``."""
    full, strict = _triangle_masks(t.shape[-1], uplo == "U", np_dtype(t.dtype))
    full, strict = const_like(full, t), const_like(strict, t)
    return t * full + _mT(t * strict)


def _to_triangle(g: Any, uplo: str) -> Any:
    """Adjoint of ``_from_triangle``: a cotangent for the symmetric matrix, moved onto the triangle."""
    full, strict = _triangle_masks(g.shape[-1], uplo == "U", np_dtype(g.dtype))
    full, strict = const_like(full, g), const_like(strict, g)
    return g * full + _mT(g) * strict


def _sym_from_triangle(xp: Any, x: Any, uplo: str) -> Any:
    """The symmetric matrix of ``x``'s ``uplo`` triangle: the array API's eigh does not say which
    triangle it reads, NumPy's reads ``UPLO``'s."""
    if uplo == "U":
        return xp.triu(x) + xp.matrix_transpose(xp.triu(x, k=1))
    return _sym_from_lower(xp, x)


def _eigh_impl(x: Any, *, UPLO: str, xp: Any = np) -> Any:  # noqa: N803
    if xp is not np:
        w, v = linalg_fn(xp, "eigh", "eigh")(_sym_from_triangle(xp, x, UPLO))
        return xp.concat([xp.expand_dims(w, axis=-2), v], axis=-2)
    w, v = np.linalg.eigh(x, UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_vjp(g: Any, ans: Any, x: Any, *, UPLO: str) -> Any:  # noqa: N803
    # A = V diag(w) V^T, dw = diag(V^T dA V), dV = V (F∘(V^T dA V)) with F_ij = 1/(w_j - w_i):
    # Ā = V (diag(w̄) + F∘(V^T V̄)) V^T, then onto the triangle LAPACK read.
    w, v = ans[..., 0, :], ans[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    inner = _inv_gaps(w) * matmul_p(_mT(v), gv) + _diag_embed(gw)
    return _to_triangle(matmul_p(matmul_p(v, inner), _mT(v)), UPLO)


def _eigh_jvp(t: Any, ans: Any, x: Any, *, UPLO: str) -> Any:  # noqa: N803
    w, v = ans[..., 0, :], ans[..., 1:, :]
    p = matmul_p(matmul_p(_mT(v), _from_triangle(t, UPLO)), v)
    dv = matmul_p(v, _inv_gaps(w) * p)
    return concat2_p(_row(_diag_part(p)), dv, axis=len(t.shape) - 2)


eigh_p = Primitive("eigh", _eigh_impl, nin=1, saves=(), saves_ans=True, uses_shapes=True,
                   grad_fn_name="LinalgEighBackward0", batching="trailing")  # fmt: skip
eigh_p.def_vjp(_eigh_vjp)
eigh_p.def_jvp(_eigh_jvp)
eigh_p.def_jet(T.eigh)


def _eigvalsh_impl(x: Any, *, UPLO: str, xp: Any = np) -> Any:  # noqa: N803
    if xp is not np:
        return linalg_fn(xp, "eigvalsh", "eigvalsh")(_sym_from_triangle(xp, x, UPLO))
    return np.linalg.eigvalsh(x, UPLO)


def _eigvalsh_vjp(g: Any, ans: Any, x: Any, *, UPLO: str) -> Any:  # noqa: N803
    v = eigh_p(x, UPLO=UPLO)[..., 1:, :]
    return _to_triangle(matmul_p(v * _row(g), _mT(v)), UPLO)


def _eigvalsh_jvp(t: Any, ans: Any, x: Any, *, UPLO: str) -> Any:  # noqa: N803
    v = eigh_p(x, UPLO=UPLO)[..., 1:, :]
    return sum_p(v * matmul_p(_from_triangle(t, UPLO), v), axis=(len(t.shape) - 2,), keepdims=False)


# The eigenvalues alone: their gradient V diag(w̄) V^T needs no gap between them.
eigvalsh_p = Primitive("eigvalsh", _eigvalsh_impl, nin=1, saves=(0,), grad_fn_name="LinalgEighBackward0",
                       batching="trailing")  # fmt: skip
eigvalsh_p.def_vjp(_eigvalsh_vjp)
eigvalsh_p.def_jvp(_eigvalsh_jvp)
eigvalsh_p.def_jet(T.eigvalsh)


def _uplo(UPLO: Any, op: str) -> str:  # noqa: N803
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper()


def eigh(a: Any, UPLO: str = "L") -> tuple[Tensor, Tensor]:  # noqa: N803
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (``numpy.linalg.eigh``),
    batched; returns ``(w, v)`` with ``a @ v = v * w``.

    Only the ``UPLO`` triangle of ``a`` is read ('L', the default, or 'U'), so the gradient lives
    on that triangle. The gradient through ``v`` needs distinct eigenvalues (as in JAX and
    PyTorch; where two coincide it is inf/nan); ``eigvalsh`` alone has none of that restriction.

    >>> import chainrule as cr
    >>> w, v = cr.linalg.eigh(cr.tensor([[2., 1.], [1., 2.]]))
    >>> w
    tensor([1., 3.], dtype=float64)
    """
    x = _arr(a)
    _square_check(x, "eigh")
    _float_check(x, "eigh")
    p = eigh_p(x, UPLO=_uplo(UPLO, "eigh"))
    return ensure_tensor(p[..., 0, :]), ensure_tensor(p[..., 1:, :])


def eigvalsh(a: Any, UPLO: str = "L") -> Tensor:  # noqa: N803
    """Eigenvalues (ascending) of symmetric matrices (``numpy.linalg.eigvalsh``), batched; only
    the ``UPLO`` triangle is read. Differentiable also where eigenvalues repeat.

    >>> import chainrule as cr
    >>> cr.linalg.eigvalsh(cr.tensor([[2., 1.], [1., 2.]]))
    tensor([1., 3.], dtype=float64)
    """
    x = _arr(a)
    _square_check(x, "eigvalsh")
    _float_check(x, "eigvalsh")
    return ensure_tensor(eigvalsh_p(x, UPLO=_uplo(UPLO, "eigvalsh")))


# ---------------------------------------------------------------- eig (real spectra)
def _eig_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is not np:
        # NumPy's eig gives real eigenvectors for a real spectrum; the array API's linalg.eig
        # (where a library has it) returns complex ones whose phases are the library's choice,
        # so their real parts would be silently wrong eigenvectors.
        raise UnsupportedOnLibrary(
            f"eig: not available for {type(x).__module__.split('.')[0]} arrays (chainrule's eig "
            "is NumPy's real-spectrum eig, which is not in the Python array API standard). Use "
            "eigh for symmetric matrices, or convert the tensor to NumPy (t.numpy(), or "
            "cr.asarray(t, like=np.empty(0)))."
        )
    w, v = np.linalg.eig(x)
    if w.dtype.kind == "c":
        raise ValueError(
            "eig: this matrix has complex eigenvalues, and chainrule tensors are real; use eigh "
            "for symmetric matrices, or np.linalg.eig on the raw array (no gradient)"
        )
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eig_vjp(g: Any, ans: Any, x: Any) -> Any:
    # A = V W V^-1, NumPy's columns of V have unit norm. With P = V^-1 dA V, F_ij = 1/(w_j - w_i):
    # dw = diag(P), dV = V (F∘P) - V diag(diag(V^T V (F∘P))) (the last term keeps |v_j| = 1).
    # Ā = V^-T (diag(w̄) + F∘(X - V^T V diag(diag X))) V^T with X = V^T V̄.
    w, v = ans[..., 0, :], ans[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    vt = _mT(v)
    xx = matmul_p(vt, gv)
    c = xx - matmul_p(matmul_p(vt, v), _diag_embed(_diag_part(xx)))
    inner = _inv_gaps(w) * c + _diag_embed(gw)
    return matmul_p(solve_p(vt, inner), vt)


def _eig_jvp(t: Any, ans: Any, x: Any) -> Any:
    w, v = ans[..., 0, :], ans[..., 1:, :]
    p = solve_p(v, matmul_p(t, v))
    vm = matmul_p(v, _inv_gaps(w) * p)
    dv = vm - v * _row(sum_p(v * vm, axis=(len(t.shape) - 2,), keepdims=False))
    return concat2_p(_row(_diag_part(p)), dv, axis=len(t.shape) - 2)


eig_p = Primitive("eig", _eig_impl, nin=1, saves=(), saves_ans=True, uses_shapes=True,
                  grad_fn_name="LinalgEigBackward0", batching="trailing")  # fmt: skip
eig_p.def_vjp(_eig_vjp)
eig_p.def_jvp(_eig_jvp)
eig_p.def_jet(T.eig)


def eig(a: Any) -> tuple[Tensor, Tensor]:
    """Eigenvalues and unit-norm eigenvectors of a general square matrix (``numpy.linalg.eig``),
    batched; returns ``(w, v)`` with ``a @ v = v * w``.

    chainrule tensors are real, so only real spectra are supported: a matrix with complex
    eigenvalues raises ``ValueError`` (NumPy itself returns real arrays exactly in the supported
    case). The gradient needs distinct eigenvalues.

    >>> import chainrule as cr
    >>> w, v = cr.linalg.eig(cr.tensor([[2., 1.], [0., 3.]]))
    >>> w
    tensor([2., 3.], dtype=float64)
    """
    x = _arr(a)
    _square_check(x, "eig")
    _float_check(x, "eig")
    p = eig_p(x)
    return ensure_tensor(p[..., 0, :]), ensure_tensor(p[..., 1:, :])


def eigvals(a: Any) -> Tensor:
    """Eigenvalues of a general square matrix with a real spectrum (``numpy.linalg.eigvals``);
    see ``eig``.

    >>> import chainrule as cr
    >>> cr.linalg.eigvals(cr.tensor([[2., 1.], [0., 3.]]))
    tensor([2., 3.], dtype=float64)
    """
    return eig(a)[0]


# ---------------------------------------------------------------- pinv
def _pinv_impl(x: Any, *, rcond: float, hermitian: bool, xp: Any = np) -> Any:
    if xp is np:
        return np.linalg.pinv(x, rcond=rcond, hermitian=hermitian)
    # rtol is NumPy's rcond (relative to the largest singular value); hermitian only picks an
    # algorithm, the result is the same.
    return linalg_fn(xp, "pinv", "pinv")(x, rtol=rcond)


def _pinv_parts(ans: Any, x: Any) -> tuple[Any, Any, Any]:
    """(P^T, I - A P, I - P A) for P = pinv(A)."""
    m, n = x.shape[-2], x.shape[-1]
    q = _eye(m, x.dtype, x) - matmul_p(x, ans)
    r = _eye(n, x.dtype, x) - matmul_p(ans, x)
    return _mT(ans), q, r


def _pinv_vjp(g: Any, ans: Any, x: Any, *, rcond: Any, hermitian: bool) -> Any:
    # Golub & Pereyra, for a locally constant rank: dP = -P dA P + P P^T dA^T Q + R dA^T P^T P
    # with Q = I - A P, R = I - P A; its transpose gives
    # Ā = -P^T Ḡ P^T + Q Ḡ^T P P^T + P^T P Ḡ^T R.
    pt, q, r = _pinv_parts(ans, x)
    gt = _mT(g)
    return (-matmul_p(matmul_p(pt, g), pt) + matmul_p(matmul_p(q, gt), matmul_p(ans, pt))
            + matmul_p(matmul_p(matmul_p(pt, ans), gt), r))  # fmt: skip


def _pinv_jvp(t: Any, ans: Any, x: Any, *, rcond: Any, hermitian: bool) -> Any:
    pt, q, r = _pinv_parts(ans, x)
    tt = _mT(t)
    return (-matmul_p(matmul_p(ans, t), ans) + matmul_p(matmul_p(matmul_p(ans, pt), tt), q)
            + matmul_p(matmul_p(r, tt), matmul_p(pt, ans)))  # fmt: skip


pinv_p = Primitive("pinv", _pinv_impl, nin=1, saves=(0,), saves_ans=True, grad_fn_name="LinalgPinvBackward0",
                   batching="trailing")  # fmt: skip
pinv_p.def_vjp(_pinv_vjp)
pinv_p.def_jvp(_pinv_jvp)
pinv_p.def_jet(T.pinv)


_UNSET: Any = object()


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _UNSET) -> Tensor:
    """Moore-Penrose pseudo-inverse (``numpy.linalg.pinv``), batched over leading dimensions.

    Singular values below ``rcond`` (or NumPy 2's ``rtol``; ``rtol=None`` means
    ``max(m, n) * eps``) times the largest are treated as zero; with neither, 1e-15 as in NumPy
    (too small for float32 matrices that are rank-deficient: pass ``rtol=None``). The gradient is that of a matrix of fixed rank: right where the rank does not change
    under small perturbations (full rank, or a rank fixed by construction such as ``x.T @ x``).

    >>> import chainrule as cr
    >>> cr.linalg.pinv(cr.tensor([[2., 0.], [0., 0.]]))
    tensor([[0.5, 0. ],
            [0. , 0. ]], dtype=float64)
    """
    x = _arr(a)
    if x.ndim < 2:
        raise ValueError(f"pinv: expected a matrix or a stack of them (shape (..., m, n)), got shape {tuple(x.shape)}")
    _float_check(x, "pinv")
    if rcond is None:
        if rtol is _UNSET:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(x.shape[-2:]) * float(np.finfo(np_dtype(x.dtype)).eps)
        else:
            rcond = rtol
    elif rtol is not _UNSET:
        raise ValueError("pinv: give rcond or rtol, not both")
    if isinstance(rcond, bool) or not isinstance(rcond, (int, float, np.floating, np.integer)):
        raise TypeError(f"pinv: rcond/rtol must be a number, got {rcond!r}")
    return ensure_tensor(pinv_p(x, rcond=float(rcond), hermitian=bool(hermitian)))


# ---------------------------------------------------------------- matrix_power, norm
def matrix_power(a: Any, n: int) -> Tensor:
    """``a`` to the integer power ``n`` by repeated squaring (``numpy.linalg.matrix_power``);
    negative ``n`` inverts first, ``n = 0`` gives the identity. Batched.

    >>> import chainrule as cr
    >>> cr.linalg.matrix_power(cr.tensor([[1., 1.], [0., 1.]]), 3)
    tensor([[1., 3.],
            [0., 1.]], dtype=float64)
    """
    x = _arr(a)
    _square_check(x, "matrix_power")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}")
    n = int(n)
    if n == 0:
        eye = _eye(x.shape[-1], x.dtype if dtype_kind(x.dtype) == "f" else np.float64)
        data = data_of(x)
        if is_foreign(data):
            xp = namespace_of(data)
            return ensure_tensor(xp.asarray(xp.broadcast_to(xp.asarray(eye), tuple(x.shape)), copy=True))
        return ensure_tensor(np.broadcast_to(eye, tuple(x.shape)).copy())
    if n < 0:
        _float_check(x, "matrix_power")
        x = inv_p(x)
        n = -n
    result = None
    base = x
    while True:
        if n & 1:
            result = base if result is None else matmul_p(result, base)
        n >>= 1
        if not n:
            break
        base = matmul_p(base, base)
    return ensure_tensor(result)


def _norm_axes(x: Any, axis: Any) -> tuple[int, ...] | None:
    if axis is None:
        return None
    nd = x.ndim
    axes = (axis,) if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"norm: axis must be an int or a tuple of ints, got {axis!r}")
        if not -nd <= a < nd:
            raise ValueError(f"norm: axis {a} is out of range for a tensor with {nd} dimensions")
        out.append(int(a) % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"norm: axis {axis!r} repeats an axis")
    if len(out) > 2:
        raise ValueError(f"norm: axis takes one axis (vector norm) or two (matrix norm), got {axis!r}")
    return tuple(out)


def _vector_norm(x: Any, ord: Any, ax: tuple[int, ...]) -> Any:  # noqa: A002
    if ord is None or ord == 2:
        return norm_p(x, axis=ax, keepdims=False)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number (or inf)")
    ord = float(ord)
    if ord == math.inf:
        return max_p(abs_p(x), axis=ax, keepdims=False)
    if ord == -math.inf:
        return min_p(abs_p(x), axis=ax, keepdims=False)
    if ord == 0:
        # The number of nonzero entries: piecewise constant, no gradient (as NumPy: a float).
        data = x._data if isinstance(x, Tensor) else np.asarray(x)
        if is_foreign(data):
            xp = namespace_of(data)
            return xp.astype(xp.count_nonzero(data, axis=ax), data.dtype)
        return np.count_nonzero(data, axis=ax).astype(data.dtype)
    if ord == 1:
        return sum_p(abs_p(x), axis=ax, keepdims=False)
    return sum_p(abs_p(x) ** ord, axis=ax, keepdims=False) ** (1.0 / ord)


def _matrix_norm(x: Any, ord: Any, ax: tuple[int, int]) -> Any:  # noqa: A002
    r, c = ax
    if ord is None or ord == "fro":
        return norm_p(x, axis=(min(r, c), max(r, c)), keepdims=False)
    if ord in ("nuc", 2, -2):
        nd = x.ndim
        rest = tuple(i for i in range(nd) if i not in ax)
        s = svdvals_p(transpose_p(x, axes=rest + (r, c)))
        if ord == "nuc":
            return sum_p(s, axis=(s.ndim - 1,), keepdims=False)
        return (max_p if ord == 2 else min_p)(s, axis=(s.ndim - 1,), keepdims=False)
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum.
        summed, kept = (r, c) if ord in (1, -1) else (c, r)
        sums = sum_p(abs_p(x), axis=(summed,), keepdims=True)
        pick = max_p if ord in (1, math.inf) else min_p
        return reshape_p(pick(sums, axis=(kept,), keepdims=True),
                         shape=tuple(n for i, n in enumerate(x.shape) if i not in ax))  # fmt: skip
    raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm; use None, 'fro', 'nuc', 1, -1, 2, -2, inf or -inf")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector or matrix norm with ``numpy.linalg.norm``'s semantics.

    ``axis`` None: the 2-norm of all entries when ``ord`` is None, else the vector norm of a 1-D
    or the matrix norm of a 2-D ``x``. An int (or 1-tuple) ``axis``: vector norms along it, with
    ``ord`` None/2, inf, -inf, 0 (count of nonzeros, no gradient), 1 or any p
    (``sum(|x|**p)**(1/p)``). A 2-tuple: matrix norms over those axes, with ``ord`` None/'fro',
    'nuc' (sum of singular values), 2/-2 (largest/smallest singular value), 1/-1 (max/min column
    sum of ``|x|``) or inf/-inf (max/min row sum). Where the norm is not differentiable (0 for the
    2-norm, ties for max-type norms) the gradient is a subgradient, as in PyTorch.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([3., 4.]))
    tensor(5., dtype=float64)
    >>> round(float(cr.linalg.norm(cr.tensor([[1., 2.], [3., 4.]]), "nuc")), 6)
    5.830952
    """
    x = _arr(x)
    kind = dtype_kind(x.dtype)
    if kind not in "fiub":
        raise TypeError(f"norm: expected a real tensor, got dtype {x.dtype}")
    if kind != "f":
        data = data_of(x)
        if is_foreign(data):
            xp = namespace_of(data)
            x = xp.astype(data, xp.float64)
        else:
            x = np.asarray(x, dtype=np.float64)
    axes = _norm_axes(x, axis)
    if axes is None:
        if ord is None:
            out = norm_p(x, axis=None, keepdims=False)
            axes = tuple(range(x.ndim))
        elif x.ndim == 1:
            axes = (0,)
            out = _vector_norm(x, ord, axes)
        elif x.ndim == 2:
            axes = (0, 1)
            out = _matrix_norm(x, ord, axes)
        else:
            raise ValueError(
                f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, got shape {tuple(x.shape)}; "
                "pass axis"
            )
    elif len(axes) == 1:
        out = _vector_norm(x, ord, axes)
    else:
        out = _matrix_norm(x, ord, axes)  # type: ignore[arg-type]
    if keepdims:
        out = reshape_p(out, shape=tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return ensure_tensor(out)


# ---------------------------------------------------------------- Tensor methods
def install() -> None:
    """Attach ``@``, ``.dot``, ``.trace`` and ``.diagonal`` to Tensor."""
    Tensor.__matmul__ = lambda self, other: matmul(self, other)
    Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
    Tensor.dot = lambda self, other: dot(self, other)
    Tensor.trace = lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2)
    Tensor.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)


# ---------------------------------------------------------------- NumPy's further products and diag
# Composites of diagonal/diagonal_scatter, einsum, mul and the shape primitives: exact, with
# their rules.
def diag(v: Any, k: int = 0) -> Tensor:
    """A 1-d input placed on diagonal ``k`` of a square matrix, or a 2-d input's diagonal ``k``
    (``numpy.diag``).

    >>> import chainrule as cr
    >>> cr.diag(cr.tensor([1., 2.]), k=1)
    tensor([[0., 1., 0.],
            [0., 0., 2.],
            [0., 0., 0.]], dtype=float64)
    >>> cr.diag(cr.eye(3))
    tensor([1., 1., 1.], dtype=float64)
    """
    v = _arr(v)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"diag: k must be an int (the diagonal offset), got {k!r}")
    k = int(k)
    shape = tuple(v.shape)
    if len(shape) == 1:
        n = shape[0] + abs(k)
        return ensure_tensor(diagonal_scatter_p(v, shape=(n, n), offset=k, axis1=0, axis2=1))
    if len(shape) == 2:
        return ensure_tensor(diagonal_p(v, offset=k, axis1=0, axis2=1))
    raise ValueError(
        f"diag: the input must be 1-d (to build a matrix) or 2-d (to read a diagonal), got shape "
        f"{shape}; use diagonal() for stacks of matrices"
    )


def _letters(n: int, start: int = 0) -> str:
    if start + n > len(_LETTERS):
        raise ValueError(f"too many dimensions ({start + n}) for a product of tensors")
    return _LETTERS[start : start + n]


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """Sum of products over the given axes (``numpy.tensordot``): ``axes=N`` pairs the last N
    axes of ``a`` with the first N of ``b``; ``axes=(axes_a, axes_b)`` names them. The free axes
    of ``a`` come first, then those of ``b``. A composite of ``einsum``.

    >>> import chainrule as cr
    >>> cr.tensordot(cr.ones((2, 3, 4)), cr.ones((3, 4, 5))).shape
    (2, 5)
    >>> cr.tensordot(cr.ones((2, 3)), cr.ones((3, 2)), axes=([0, 1], [1, 0]))
    tensor(6., dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > len(sa) or n > len(sb):
            raise ValueError(
                f"tensordot: axes={n} needs 0 <= axes <= the dimensions of both inputs, got shapes {sa} and {sb}"
            )
        axes_a, axes_b = list(range(len(sa) - n, len(sa))), list(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(
                f"tensordot: axes must be an int or a pair (axes_a, axes_b), got {axes!r}"
            ) from None
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(
                f"tensordot: {len(axes_a)} axes of a but {len(axes_b)} of b ({axes!r}); pair them one to one"
            )
    from chainrule.ops.shape import _axis

    axes_a = [_axis(x, len(sa), "tensordot") for x in axes_a]
    axes_b = [_axis(x, len(sb), "tensordot") for x in axes_b]
    if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(
                f"tensordot: shape mismatch for sum: axis {i} of a (shape {sa}) has size {sa[i]} but "
                f"axis {j} of b (shape {sb}) has size {sb[j]}"
            )
    la = list(_letters(len(sa)))
    lb = list(_letters(len(sb), len(sa)))
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    out = "".join(c for i, c in enumerate(la) if i not in axes_a) + "".join(
        c for j, c in enumerate(lb) if j not in axes_b
    )
    return ensure_tensor(einsum_p(a, b, subscripts=f"{''.join(la)},{''.join(lb)}->{out}"))


def inner(a: Any, b: Any) -> Tensor:
    """Sum of products over the last axes (``numpy.inner``): the result's shape is
    ``a.shape[:-1] + b.shape[:-1]``; a 0-d input multiplies.

    >>> import chainrule as cr
    >>> cr.inner(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor(11., dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    if a.ndim == 0 or b.ndim == 0:
        return ensure_tensor(mul_p(a, b))
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"inner: the last dimensions of shapes {tuple(a.shape)} and {tuple(b.shape)} differ "
            f"({a.shape[-1]} != {b.shape[-1]}); they are summed over and must match"
        )
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a: Any, b: Any) -> Tensor:
    """Kronecker product (``numpy.kron``): blocks ``a[i, j] * b``; the input with fewer dimensions
    gets leading size-1 ones. A composite of ``mul`` and ``reshape``.

    >>> import chainrule as cr
    >>> cr.kron(cr.tensor([1., 10.]), cr.tensor([1., 2., 3.]))
    tensor([ 1.,  2.,  3., 10., 20., 30.], dtype=float64)
    """
    a, b = _arr(a), _arr(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    wide_a = reshape_p(a, shape=tuple(v for n in sa for v in (n, 1)))
    wide_b = reshape_p(b, shape=tuple(v for n in sb for v in (1, n)))
    return ensure_tensor(reshape_p(mul_p(wide_a, wide_b), shape=tuple(m * n for m, n in zip(sa, sb))))


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> Tensor:
    """Cross product of 3-vectors (or 2-vectors, whose missing z is 0) along ``axisa``/``axisb``,
    the result's vectors along ``axisc``; ``axis`` sets all three (``numpy.cross``). Two 2-vectors
    give the z component alone. Other dimensions broadcast.

    >>> import chainrule as cr
    >>> cr.cross(cr.tensor([1., 0., 0.]), cr.tensor([0., 1., 0.]))
    tensor([0., 0., 1.], dtype=float64)
    """
    from chainrule.ops.indexing import getitem
    from chainrule.ops.shape import _axis, moveaxis, stack

    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _arr(a), _arr(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"cross: needs vectors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    a = moveaxis(a, _axis(axisa, a.ndim, "cross"), -1)
    b = moveaxis(b, _axis(axisb, b.ndim, "cross"), -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            f"cross: incompatible vector sizes {na} and {nb} (axisa={axisa}, axisb={axisb}); the "
            "vectors must have 2 or 3 components"
        )
    try:
        batch = np.broadcast_shapes(tuple(a.shape[:-1]), tuple(b.shape[:-1]))
    except ValueError:
        raise ValueError(
            f"cross: the shapes {tuple(a.shape)} and {tuple(b.shape)} (vectors moved last) do not broadcast"
        ) from None
    ca = [getitem(a, (Ellipsis, i)) for i in range(na)]
    cb = [getitem(b, (Ellipsis, i)) for i in range(nb)]
    z = ca[0] * cb[1] - ca[1] * cb[0]
    if na == 2 and nb == 2:
        return ensure_tensor(broadcast_to_p(z, shape=batch))
    if na == 3 and nb == 3:
        x = ca[1] * cb[2] - ca[2] * cb[1]
        y = ca[2] * cb[0] - ca[0] * cb[2]
    elif na == 2:
        x = ca[1] * cb[2]
        y = -(ca[0] * cb[2])
    else:
        x = -(ca[2] * cb[1])
        y = ca[2] * cb[0]
    parts = [broadcast_to_p(c, shape=batch) for c in (x, y, z)]
    out = stack(parts, axis=-1)
    return moveaxis(out, -1, _axis(axisc, len(batch) + 1, "cross"))
