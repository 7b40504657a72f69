"""Entries for ops/nn.py: softmax family, one_hot, cross-entropy (class indices and
probabilities, every reduction), mse, binary cross-entropy with logits, conv2d (stride,
padding, bias), pooling, the im2col/col2im primitives and dropout.

References are written here from the definitions (loops over output positions for conv and
pooling), independently of the library's vectorised im2col.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops.nn import col2im_p, first_max_mask_p, im2col_p
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


# ---------------------------------------------------------------- references
def _log_softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _ce_ref(logits, target, axis=-1, reduction="mean"):
    logp = _log_softmax(logits, axis)
    if np.asarray(target).dtype.kind == "f":
        losses = -np.sum(target * logp, axis=axis)
    else:
        moved = np.moveaxis(logp, axis, -1)
        losses = -np.array([row[t] for row, t in zip(moved.reshape(-1, moved.shape[-1]), target.ravel())])
        losses = losses.reshape(target.shape)
    return _reduce(losses, reduction)


def _conv_ref(x, w, b=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = xp.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out if b is None else out + b[None, :, None, None]


def _pool_ref(x, k, s=None, p=0, how="max"):
    s = k if s is None else s
    fill = -np.inf if how == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    oh, ow = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            out[:, :, i, j] = win.max(axis=(2, 3)) if how == "max" else win.mean(axis=(2, 3))
    return out


def _windows_ref(x, k, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    out = np.zeros(x.shape[:2] + (oh, ow, k, k))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = xp[:, :, i * s : i * s + k, j * s : j * s + k]
    return out


def _col2im_ref(g, shape, k, s, p):
    n, c, h, w = shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            out[:, :, i * s : i * s + k, j * s : j * s + k] += g[:, :, i, j]
    return out[:, :, p : p + h, p : p + w]


def _first_max_mask_ref(x):
    moved = np.moveaxis(x, 1, -1)
    winner = np.argmax(moved, axis=-1)  # NumPy's argmax: the first maximum, or the first NaN
    return np.moveaxis(winner[..., None] == np.arange(moved.shape[-1]), -1, 1)


def _dropout_ref(x, p, seed):
    keep = np.random.default_rng(seed).random(x.shape) >= p
    return x * keep / (1 - p)


# ---------------------------------------------------------------- samples
def _one(*shapes, low=-2.0, high=2.0):
    return lambda rng: [Sample((uniform(rng, s, low, high),), name=str(s)) for s in shapes]


def _index_target(shape, classes):
    def make(rng):
        return [Sample((uniform(rng, shape, -2, 2), rng.integers(0, classes, size=shape[:-1])), name=str(shape))]

    return make


def _prob_target(shape):
    def make(rng):
        q = uniform(rng, shape, 0.1, 1.0)
        return [Sample((uniform(rng, shape, -2, 2), q / q.sum(-1, keepdims=True)), name=str(shape))]

    return make


def _pair(sa, sb, low2=-1.0, high2=1.0):
    return lambda rng: [Sample((uniform(rng, sa, -1, 1), uniform(rng, sb, low2, high2)), name=f"{sa},{sb}")]


def _conv(sx, sw, bias=True):
    def make(rng):
        args = [uniform(rng, sx, -1, 1), uniform(rng, sw, -1, 1)]
        if bias:
            args.append(uniform(rng, (sw[0],), -1, 1))
        return [Sample(tuple(args), name=f"{sx}*{sw}")]

    return make


E = OpInfo
_CE = ("cross_entropy",)
ENTRIES = [
    E("log_softmax", cr.log_softmax, _log_softmax, _one((4,), (3, 4)), ("log_softmax",)),
    E("log_softmax_axis0", lambda x: cr.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0),
      _one((3, 2)), ("log_softmax",)),
    E("log_softmax_method_3d", lambda x: x.log_softmax(1), lambda x: _log_softmax(x, 1),
      _one((2, 3, 2)), ("log_softmax",)),
    E("softmax", cr.softmax, lambda x: np.exp(_log_softmax(x)), _one((4,), (3, 4)), ("log_softmax", "exp")),
    E("softmax_axis0_method", lambda x: x.softmax(0), lambda x: np.exp(_log_softmax(x, 0)),
      _one((3, 2)), ("log_softmax", "exp")),
    # An empty axis: an empty result and an empty gradient (PyTorch's behaviour).
    E("softmax_empty_axis", cr.softmax, lambda x: np.zeros_like(x), _one((0,), (3, 0)), ("log_softmax", "exp")),
    E("log_softmax_empty_axis", cr.log_softmax, lambda x: np.zeros_like(x), _one((0,), (3, 0)), ("log_softmax",)),
    E("one_hot", lambda i: cr.one_hot(i, 4), lambda i: np.eye(4)[i],
      lambda rng: [Sample((np.array([0, 3, 1, 1]),), name="vec"), Sample((np.array([[2, 0], [1, 3]]),), name="mat")],
      ("one_hot",), differentiable=False),
    E("cross_entropy_index_mean", cr.cross_entropy, _ce_ref, _index_target((3, 4), 4), _CE),
    E("cross_entropy_index_sum", lambda x, t: cr.cross_entropy(x, t, reduction="sum"),
      lambda x, t: _ce_ref(x, t, reduction="sum"), _index_target((3, 4), 4), _CE),
    E("cross_entropy_index_none", lambda x, t: cr.cross_entropy(x, t, reduction="none"),
      lambda x, t: _ce_ref(x, t, reduction="none"), _index_target((3, 4), 4), _CE),
    E("cross_entropy_index_axis1", lambda x, t: cr.cross_entropy(x, t, axis=1),
      lambda x, t: _ce_ref(x, t, axis=1),
      lambda rng: [Sample((uniform(rng, (2, 3, 2), -2, 2), rng.integers(0, 3, size=(2, 2))), name="nc2")],
      _CE),
    E("cross_entropy_index_single", cr.cross_entropy, _ce_ref,
      lambda rng: [Sample((uniform(rng, (5,), -2, 2), np.array(3)), name="one-sample")], _CE),
    E("cross_entropy_prob_mean", cr.cross_entropy, _ce_ref, _prob_target((3, 4)), _CE),
    E("cross_entropy_prob_sum", lambda x, t: cr.cross_entropy(x, t, reduction="sum"),
      lambda x, t: _ce_ref(x, t, reduction="sum"), _prob_target((3, 4)), _CE),
    E("cross_entropy_prob_none", lambda x, t: cr.cross_entropy(x, t, reduction="none"),
      lambda x, t: _ce_ref(x, t, reduction="none"), _prob_target((2, 3)), _CE),
    E("mse", cr.mse, lambda a, b: np.mean((a - b) ** 2), _pair((3, 2), (3, 2)), ("sub", "square", "sum", "mul")),
    E("mse_sum", lambda a, b: cr.mse(a, b, "sum"), lambda a, b: np.sum((a - b) ** 2), _pair((4,), (4,)),
      ("sub", "square", "sum")),
    E("mse_none", lambda a, b: cr.mse(a, b, "none"), lambda a, b: (a - b) ** 2, _pair((4,), (4,)),
      ("sub", "square")),
    E("bce_with_logits", cr.binary_cross_entropy_with_logits,
      lambda x, y: np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))),
      _pair((3, 2), (3, 2), 0.0, 1.0), ("softplus", "mul", "sub", "sum")),
    E("bce_with_logits_none", lambda x, y: cr.binary_cross_entropy_with_logits(x, y, "none"),
      lambda x, y: np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))),
      _pair((4,), (4,), 0.0, 1.0), ("softplus", "mul", "sub")),
    E("conv2d_bias", cr.conv2d, _conv_ref, _conv((1, 2, 4, 4), (3, 2, 2, 2)),
      ("im2col", "transpose", "reshape", "matmul", "add")),
    E("conv2d_stride2_pad1", lambda x, w: cr.conv2d(x, w, stride=2, padding=1),
      lambda x, w: _conv_ref(x, w, stride=2, padding=1), _conv((1, 2, 3, 3), (2, 2, 2, 2), bias=False),
      ("im2col", "transpose", "reshape", "matmul")),
    E("conv2d_rect_stride_pad", lambda x, w, b: cr.conv2d(x, w, b, stride=(1, 2), padding=(1, 0)),
      lambda x, w, b: _conv_ref(x, w, b, stride=(1, 2), padding=(1, 0)),
      _conv((2, 1, 3, 4), (2, 1, 2, 2)), ("im2col", "transpose", "reshape", "matmul", "add")),
    E("max_pool2d", lambda x: cr.max_pool2d(x, 2), lambda x: _pool_ref(x, 2), _one((1, 2, 4, 4)),
      ("im2col", "transpose", "reshape", "where", "sum")),
    E("max_pool2d_overlap_pad", lambda x: cr.max_pool2d(x, 3, stride=1, padding=1),
      lambda x: _pool_ref(x, 3, 1, 1), _one((1, 1, 3, 3)), ("im2col", "transpose", "reshape", "where", "sum")),
    E("first_max_mask", lambda x: first_max_mask_p(x, axis=1), _first_max_mask_ref,
      lambda rng: [Sample((np.array([[1.0, 3.0, 3.0], [2.0, np.nan, 5.0], [0.0, -1.0, -2.0]]),), name="ties-nan"),
                   Sample((uniform(rng, (2, 3, 2), -1, 1),), name="3d")],
      ("first_max_mask",), differentiable=False),
    E("avg_pool2d", lambda x: cr.avg_pool2d(x, 2), lambda x: _pool_ref(x, 2, how="mean"),
      _one((1, 2, 4, 4)), ("im2col", "transpose", "reshape", "sum", "mul")),
    E("avg_pool2d_stride_pad", lambda x: cr.avg_pool2d(x, 3, stride=2, padding=1),
      lambda x: _pool_ref(x, 3, 2, 1, how="mean"), _one((1, 1, 3, 4)), ("im2col", "transpose", "reshape", "sum", "mul")),
    E("im2col", lambda x: im2col_p(x, kernel=(2, 2), stride=(2, 2), padding=(1, 1)),
      lambda x: _windows_ref(x, 2, 2, 1), _one((1, 2, 3, 3)), ("im2col",)),
    E("col2im", lambda g: col2im_p(g, shape=(1, 1, 3, 3), kernel=(2, 2), stride=(1, 1), padding=(0, 0)),
      lambda g: _col2im_ref(g, (1, 1, 3, 3), 2, 1, 0), _one((1, 1, 2, 2, 2, 2)), ("col2im",)),
    E("col2im_stride_pad", lambda g: col2im_p(g, shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1)),
      lambda g: _col2im_ref(g, (1, 1, 3, 3), 2, 2, 1), _one((1, 1, 2, 2, 2, 2)), ("col2im",)),
    E("dropout", lambda x: cr.dropout(x, 0.4, generator=np.random.default_rng(7)),
      lambda x: _dropout_ref(x, 0.4, 7), _one((3, 4)), ("mul",)),
]
