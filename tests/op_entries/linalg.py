"""Entries for ops/linalg.py: matmul in every vector/matrix/batched/broadcast form, dot, outer,
einsum (explicit, implicit, diagonals, three operands), diagonal/trace, inv, det, slogdet, solve
and cholesky."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.core.backend import namespace_of
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
        # The identity in the tensor's own library (NumPy's here, array-api-strict's in
        # test_backends_op_db): libraries do not mix.
        return cr.matmul(x, x.mT) + namespace_of(x._data).asarray(eye)
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


# ---------------------------------------------------------------- numpy.linalg: decompositions,
# pinv, norms, matrix_power (cr.linalg)
def _gaussian(*shapes):
    return lambda rng: [Sample(tuple(rng.standard_normal(s) for s in shapes), name=str(shapes))]


def _real_spectrum(shape):
    """Matrices near diag(1, 2, ..., n): real, well separated eigenvalues."""

    def make(rng):
        n = shape[-1]
        return [Sample((np.diag(np.arange(1.0, n + 1)) + uniform(rng, shape, -0.2, 0.2),), name=str(shape))]

    return make


def _flat(fn):
    """A several-output function as one flat output (the op table's tests take one tensor)."""

    def joined(x, **kwargs):
        outs = fn(x, **kwargs)
        if isinstance(x, cr.Tensor):
            return cr.concatenate([cr.reshape(o, (-1,)) for o in outs])
        return np.concatenate([np.reshape(o, -1) for o in outs])

    return joined


def _svd(x, **kwargs):
    return (cr.linalg if isinstance(x, cr.Tensor) else np.linalg).svd(x, **kwargs)


def _eigh(x, **kwargs):
    return (cr.linalg if isinstance(x, cr.Tensor) else np.linalg).eigh(x, **kwargs)


def _sign_free(wv):
    w, v = wv
    return w, v * v


def _eig(x):
    return (cr.linalg if isinstance(x, cr.Tensor) else np.linalg).eig(x)


_svd_reduced = _flat(lambda x: _svd(x, full_matrices=False))


def _gram(x):
    return cr.matmul(cr.swapaxes(x, -1, -2), x) if isinstance(x, cr.Tensor) else np.swapaxes(x, -1, -2) @ x


def _detached(outs):
    return tuple(o.detach() for o in outs)


ENTRIES += [
    E("svd_square", _svd_reduced, _svd_reduced, _gaussian((3, 3)), ("svd", "getitem", "transpose")),
    E("svd_tall", _svd_reduced, _svd_reduced, _gaussian((4, 2)), ("svd", "getitem", "transpose")),
    E("svd_wide", _svd_reduced, _svd_reduced, _gaussian((2, 4)), ("svd", "getitem", "transpose")),
    E("svd_batched", _svd_reduced, _svd_reduced, _gaussian((2, 3, 2)), ("svd", "getitem", "transpose")),
    # full_matrices=True on a square matrix is the reduced decomposition.
    E("svd_full_square", _flat(_svd), _flat(_svd), _gaussian((3, 3)), ("svd", "getitem", "transpose")),
    # On a non-square matrix the extra columns have no gradient: forward only here (its rules
    # raise; see test_linalg_numpy.py).
    E("svd_full_nonsquare", _flat(lambda x: _detached(cr.linalg.svd(x))), _flat(np.linalg.svd), _gaussian((2, 3, 2)),
      ("svd_full",), differentiable=False),
    E("svd_values", lambda x: cr.linalg.svd(x, compute_uv=False), lambda x: np.linalg.svd(x, compute_uv=False),
      _gaussian((2, 4, 3)), ("svdvals",)),
    E("eigh", _flat(_eigh), _flat(_eigh), _gaussian((3, 3)), ("eigh", "getitem")),
    # Eigenvectors squared: their signs are the library's choice, and another library reading the
    # upper triangle (the array API's eigh takes no UPLO) may pick other ones than LAPACK's 'U'.
    E("eigh_upper", _flat(lambda x: _sign_free(_eigh(x, UPLO="U"))), _flat(lambda x: _sign_free(_eigh(x, UPLO="U"))),
      _gaussian((3, 3)), ("eigh", "getitem")),
    E("eigh_batched", _flat(_eigh), _flat(_eigh), _gaussian((2, 3, 3)), ("eigh", "getitem")),
    E("eigvalsh", cr.linalg.eigvalsh, np.linalg.eigvalsh, _gaussian((2, 3, 3)), ("eigvalsh",)),
    E("eigvalsh_upper", lambda x: cr.linalg.eigvalsh(x, UPLO="U"), lambda x: np.linalg.eigvalsh(x, UPLO="U"),
      _gaussian((3, 3)), ("eigvalsh",)),
    E("eig", _flat(_eig), _flat(_eig), _real_spectrum((3, 3)), ("eig", "getitem")),
    E("eig_batched", _flat(_eig), _flat(_eig), _real_spectrum((2, 3, 3)), ("eig", "getitem")),
    E("eigvals", cr.linalg.eigvals, np.linalg.eigvals, _real_spectrum((3, 3)), ("eig", "getitem")),
    E("pinv_tall", cr.linalg.pinv, np.linalg.pinv, _gaussian((4, 2)), ("pinv",)),
    E("pinv_wide", cr.linalg.pinv, np.linalg.pinv, _gaussian((2, 3)), ("pinv",)),
    E("pinv_batched", cr.linalg.pinv, np.linalg.pinv, _gaussian((2, 3, 2)), ("pinv",)),
    E("pinv_square", cr.linalg.pinv, np.linalg.pinv, _well_conditioned((3, 3)), ("pinv",)),
    # Rank 2 by construction (a 3x3 Gram matrix of a 2x3 x): the rank stays fixed under
    # perturbation. (rtol=None: NumPy's default cutoff 1e-15 is below float32's rounding.)
    E("pinv_low_rank", lambda x: cr.linalg.pinv(_gram(x), rtol=None), lambda x: np.linalg.pinv(_gram(x), rtol=None),
      _gaussian((2, 3)), ("pinv", "matmul", "transpose")),
    E("matrix_power_3", lambda x: cr.linalg.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3),
      _one((2, 3, 3)), ("matmul",)),
    E("matrix_power_negative", lambda x: cr.linalg.matrix_power(x, -2), lambda x: np.linalg.matrix_power(x, -2),
      _well_conditioned((3, 3)), ("inv", "matmul")),
    E("norm_vector_ord3", lambda x: cr.linalg.norm(x, 3), lambda x: np.linalg.norm(x, 3),
      _gaussian((5,)), ("abs", "pow", "sum")),
    E("norm_vector_ord4_axis", lambda x: cr.linalg.norm(x, 4, axis=1), lambda x: np.linalg.norm(x, 4, axis=1),
      _gaussian((3, 4)), ("abs", "pow", "sum")),
    E("norm_vector_inf", lambda x: cr.linalg.norm(x, np.inf), lambda x: np.linalg.norm(x, np.inf),
      _gaussian((5,)), ("abs", "max")),
    E("norm_vector_neg_inf", lambda x: cr.linalg.norm(x, -np.inf, axis=0), lambda x: np.linalg.norm(x, -np.inf, axis=0),
      _gaussian((4, 3)), ("abs", "min")),
    E("norm_vector_ord1", lambda x: cr.linalg.norm(x, 1), lambda x: np.linalg.norm(x, 1),
      _gaussian((5,)), ("abs", "sum")),
    E("norm_vector_ord2_keepdims", lambda x: cr.linalg.norm(x, 2, axis=-1, keepdims=True),
      lambda x: np.linalg.norm(x, 2, axis=-1, keepdims=True), _gaussian((3, 4)), ("norm", "reshape")),
    E("norm_default_3d", cr.linalg.norm, np.linalg.norm, _gaussian((2, 3, 4)), ("norm",)),
    E("norm_fro_axes", lambda x: cr.linalg.norm(x, "fro", axis=(2, 0)), lambda x: np.linalg.norm(x, "fro", axis=(2, 0)),
      _gaussian((2, 3, 4)), ("norm",)),
    E("norm_nuc", lambda x: cr.linalg.norm(x, "nuc"), lambda x: np.linalg.norm(x, "nuc"),
      _gaussian((4, 3)), ("svdvals", "transpose", "sum")),
    E("norm_nuc_axes_keepdims", lambda x: cr.linalg.norm(x, "nuc", axis=(0, 2), keepdims=True),
      lambda x: np.linalg.norm(x, "nuc", axis=(0, 2), keepdims=True), _gaussian((4, 2, 3)),
      ("svdvals", "transpose", "sum", "reshape")),
    E("norm_spectral", lambda x: cr.linalg.norm(x, 2), lambda x: np.linalg.norm(x, 2),
      _gaussian((3, 4)), ("svdvals", "transpose", "max")),
    E("norm_smallest_singular", lambda x: cr.linalg.norm(x, -2, axis=(1, 2)), lambda x: np.linalg.norm(x, -2, axis=(1, 2)),
      _gaussian((2, 3, 3)), ("svdvals", "transpose", "min")),
    E("norm_matrix_1", lambda x: cr.linalg.norm(x, 1), lambda x: np.linalg.norm(x, 1),
      _gaussian((3, 4)), ("abs", "sum", "max", "reshape")),
    E("norm_matrix_neg_inf_axes", lambda x: cr.linalg.norm(x, -np.inf, axis=(2, 0)),
      lambda x: np.linalg.norm(x, -np.inf, axis=(2, 0)), _gaussian((3, 2, 4)), ("abs", "sum", "min", "reshape")),
]


# ---------------------------------------------------------------- einsum: '...', size-1 broadcast,
# interleaved form
def _es(spec):
    return (lambda *xs: cr.einsum(spec, *xs)), (lambda *xs: np.einsum(spec, *xs))


def _shapes(*shapes):
    return lambda rng: [Sample(tuple(uniform(rng, s, -1, 1) for s in shapes), name=str(shapes))]


ENTRIES += [
    E("einsum_ellipsis_batched_matmul", *_es("...ij,...jk->...ik"), _shapes((2, 2, 3), (3, 2)), ("einsum",)),
    E("einsum_ellipsis_broadcast_ones", *_es("...ij,...jk->...ik"), _shapes((2, 1, 2, 3), (3, 3, 2)),
      ("einsum", "reshape")),
    E("einsum_ellipsis_implicit", *_es("i...,i"), _shapes((3, 2, 2), (3,)), ("einsum",)),
    E("einsum_ellipsis_middle", *_es("i...j->j...i"), _shapes((2, 3, 2, 4)), ("einsum",)),
    E("einsum_ellipsis_diagonal", *_es("...ii->...i"), _shapes((2, 3, 3)), ("einsum",)),
    E("einsum_size_one_letter", *_es("ij,ij->j"), _shapes((1, 3), (2, 3)), ("einsum", "reshape")),
    E("einsum_interleaved", lambda a, b: cr.einsum(a, [0, 1], b, [1, 2], [0, 2]),
      lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), _shapes((2, 3), (3, 2)), ("einsum",)),
    E("einsum_interleaved_ellipsis_implicit", lambda a, b: cr.einsum(a, [Ellipsis, 0], b, [0]),
      lambda a, b: np.einsum(a, [Ellipsis, 0], b, [0]), _shapes((2, 2, 3), (3,)), ("einsum",)),
]
