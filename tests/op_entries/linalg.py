"""Entries for ops/linalg.py: matmul in every vector/matrix/batched/broadcast form, dot, outer,
einsum (explicit, implicit, diagonals, three operands), diagonal/trace, inv, det, slogdet, solve
and cholesky."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops.linalg import diagonal_scatter_p
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


def _pair(sa, sb):
    return lambda rng: [Sample((uniform(rng, sa, -1, 1), uniform(rng, sb, -1, 1)), name=f"{sa}@{sb}")]


def _one(shape):
    return lambda rng: [Sample((uniform(rng, shape, -1, 1),), name=str(shape))]


def _well_conditioned(shape):
    """Square matrices near 2*I (or -2*I on odd batch entries, for negative determinants)."""

    def make(rng):
        n = shape[-1]
        x = uniform(rng, shape, -0.5, 0.5) + 2.0 * np.eye(n)
        if len(shape) > 2:
            x[1::2] *= -1
        return [Sample((x,), name=str(shape))]

    return make


def _solve_samples(rng):
    def a(shape):
        return uniform(rng, shape, -0.5, 0.5) + 2.0 * np.eye(shape[-1])

    return [
        Sample((a((3, 3)), uniform(rng, (3,), -1, 1)), name="vector"),
        Sample((a((2, 2)), uniform(rng, (2, 3), -1, 1)), name="matrix"),
        Sample((a((2, 2, 2)), uniform(rng, (2,), -1, 1)), name="batch-vector"),
        Sample((a((2, 2, 2)), uniform(rng, (2, 1), -1, 1)), name="batch-broadcast"),
    ]


def _spd(x):
    """A symmetric positive-definite matrix (stack) from any square ``x``."""
    eye = np.eye(x.shape[-1])
    if isinstance(x, cr.Tensor):
        return cr.matmul(x, x.mT) + eye
    return x @ np.swapaxes(x, -1, -2) + eye


E = OpInfo
ENTRIES = [
    E("matmul_vec_vec", cr.matmul, np.matmul, _pair((3,), (3,)), ("matmul",)),
    E("matmul_vec_mat", cr.matmul, np.matmul, _pair((3,), (3, 2)), ("matmul",)),
    E("matmul_mat_vec", cr.matmul, np.matmul, _pair((2, 3), (3,)), ("matmul",)),
    E("matmul_mat_mat", cr.matmul, np.matmul, _pair((2, 3), (3, 2)), ("matmul",)),
    # Square operands: a VJP missing a transpose still has the right shape here, so only the
    # values can show it (with non-square operands it fails on shapes instead).
    E("matmul_square", cr.matmul, np.matmul, _pair((3, 3), (3, 3)), ("matmul",)),
    E("matmul_batched_square", cr.matmul, np.matmul, _pair((2, 2, 2), (2, 2)), ("matmul",)),
    E("matmul_batched", cr.matmul, np.matmul, _pair((2, 2, 3), (2, 3, 2)), ("matmul",)),
    E("matmul_batch_broadcast", cr.matmul, np.matmul, _pair((2, 1, 2, 2), (3, 2, 1)), ("matmul",)),
    E("matmul_mat_batched", cr.matmul, np.matmul, _pair((2, 3), (2, 3, 2)), ("matmul",)),
    E("matmul_batched_vec", cr.matmul, np.matmul, _pair((2, 2, 3), (3,)), ("matmul",)),
    E("matmul_vec_batched", cr.matmul, np.matmul, _pair((3,), (2, 3, 2)), ("matmul",)),
    E("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b, _pair((3, 2), (2, 3)), ("matmul",)),
    E("dot_vec", cr.dot, np.dot, _pair((4,), (4,)), ("matmul",)),
    E("dot_mat", lambda a, b: a.dot(b), np.dot, _pair((2, 3), (3, 2)), ("matmul",)),
    E("dot_scalar", cr.dot, np.dot, _pair((), (3,)), ("mul",)),
    E("dot_nd", cr.dot, np.dot, _pair((2, 2, 2), (2, 2, 3)), ("einsum",)),
    E("outer", cr.outer, np.outer, _pair((3,), (2, 2)), ("reshape", "mul")),
    E("einsum_matmul", lambda a, b: cr.einsum("ij,jk->ik", a, b),
      lambda a, b: np.einsum("ij,jk->ik", a, b), _pair((2, 3), (3, 2)), ("einsum",)),
    E("einsum_implicit", lambda a, b: cr.einsum("ji,jk", a, b),
      lambda a, b: np.einsum("ji,jk", a, b), _pair((3, 2), (3, 2)), ("einsum",)),
    E("einsum_batched", lambda a, b: cr.einsum("bij,bjk->bik", a, b),
      lambda a, b: np.einsum("bij,bjk->bik", a, b), _pair((2, 2, 3), (2, 3, 2)), ("einsum",)),
    E("einsum_outer", lambda a, b: cr.einsum("i,j->ij", a, b),
      lambda a, b: np.einsum("i,j->ij", a, b), _pair((3,), (4,)), ("einsum",)),
    E("einsum_broadcast_letter", lambda a, b: cr.einsum("ij,k->ik", a, b),
      lambda a, b: np.einsum("ij,k->ik", a, b), _pair((2, 3), (2,)), ("einsum",)),
    E("einsum_diag_product", lambda a, b: cr.einsum("ii,i->i", a, b),
      lambda a, b: np.einsum("ii,i->i", a, b), _pair((3, 3), (3,)), ("einsum",)),
    E("einsum_diagonal", lambda a: cr.einsum("ii->i", a), lambda a: np.einsum("ii->i", a),
      _one((3, 3)), ("einsum",)),
    E("einsum_trace_implicit", lambda a: cr.einsum("ii", a), lambda a: np.einsum("ii", a),
      _one((3, 3)), ("einsum",)),
    E("einsum_repeated_with_free", lambda a: cr.einsum("iij->j", a), lambda a: np.einsum("iij->j", a),
      _one((2, 2, 3)), ("einsum",)),
    E("einsum_transpose", lambda a: cr.einsum("ijk->kij", a), lambda a: np.einsum("ijk->kij", a),
      _one((2, 3, 2)), ("einsum",)),
    E("einsum_sum", lambda a: cr.einsum("ij->", a), lambda a: np.einsum("ij->", a), _one((3, 4)), ("einsum",)),
    E("einsum_three", lambda a, b, c: cr.einsum("ij,jk,kl->il", a, b, c),
      lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
      lambda rng: [Sample(tuple(uniform(rng, s, -1, 1) for s in [(2, 3), (3, 2), (2, 2)]), name="chain")],
      ("einsum",)),
    E("diagonal", lambda x: cr.diagonal(x), np.diagonal, _one((3, 4)), ("diagonal",)),
    E("diagonal_offset_axes", lambda x: x.diagonal(1, 2, 0),
      lambda x: np.diagonal(x, 1, 2, 0), _one((3, 2, 3)), ("diagonal",)),
    E("diagonal_negative_offset", lambda x: cr.diagonal(x, -1), lambda x: np.diagonal(x, -1),
      _one((3, 3)), ("diagonal",)),
    E("diagonal_scatter", lambda g: diagonal_scatter_p(g, shape=(3, 3, 4), offset=1, axis1=2, axis2=0),
      lambda g: _diag_scatter_ref(g, (3, 3, 4), 1, 2, 0), _one((3, 2)), ("diagonal_scatter",)),
    E("trace", cr.trace, np.trace, _one((3, 3)), ("diagonal", "sum")),
    E("trace_method_offset", lambda x: x.trace(1, 1, 2), lambda x: np.trace(x, 1, 1, 2),
      _one((2, 3, 3)), ("diagonal", "sum")),
    E("inv", cr.inv, np.linalg.inv, _well_conditioned((3, 3)), ("inv",)),
    E("inv_batched", cr.inv, np.linalg.inv, _well_conditioned((2, 2, 2)), ("inv",)),
    E("det", cr.det, np.linalg.det, _well_conditioned((3, 3)), ("det",)),
    E("det_batched", cr.det, np.linalg.det, _well_conditioned((3, 2, 2)), ("det",)),
    E("slogdet", lambda x: cr.slogdet(x)[1], lambda x: np.linalg.slogdet(x)[1],
      _well_conditioned((3, 3)), ("logabsdet",)),
    E("slogdet_batched_negative", lambda x: cr.slogdet(x)[1], lambda x: np.linalg.slogdet(x)[1],
      _well_conditioned((2, 2, 2)), ("logabsdet",)),
    E("slogdet_sign", lambda x: cr.slogdet(x)[0], lambda x: np.linalg.slogdet(x)[0],
      _well_conditioned((2, 2, 2)), ("slogdet_sign",), differentiable=False),
    E("solve", cr.solve, np.linalg.solve, _solve_samples, ("solve",)),
    E("cholesky", lambda x: cr.cholesky(_spd(x)), lambda x: np.linalg.cholesky(_spd(x)),
      _one((3, 3)), ("cholesky",)),
    E("cholesky_batched", lambda x: cr.cholesky(_spd(x)), lambda x: np.linalg.cholesky(_spd(x)),
      _one((2, 2, 2)), ("cholesky",)),
]


def _diag_scatter_ref(g, shape, offset, axis1, axis2):
    out = np.zeros(shape)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    for idx in np.ndindex(*g.shape[:-1]):
        for i in range(g.shape[-1]):
            view[idx + (i + max(-offset, 0), i + max(offset, 0))] = g[idx + (i,)]
    return out
