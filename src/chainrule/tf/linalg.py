"""``tf.linalg``: matrix products, inverse, determinant, solve, trace and eigen-decompositions.

``inv``, ``det``, ``solve``, ``matmul`` and ``trace`` are chainrule's differentiable ops.
``eig``/``eigh`` (and ``eigvals``/``eigvalsh``) are computed by NumPy and carry no gradient;
chainrule tensors hold no complex numbers, so ``eig`` and ``eigvals`` return NumPy complex arrays.

>>> from chainrule import tf
>>> tf.linalg.det(tf.constant([[2.0, 0.0], [0.0, 3.0]])).numpy()
np.float32(6.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._ops import matmul
from chainrule.tf._tensor import Tensor, to_tensor, wrap
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.linalg")

__all__ = [
    "matmul", "inv", "det", "solve", "trace", "matrix_transpose", "eig", "eigh", "eigvals",
    "eigvalsh",
]  # fmt: skip

_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def _values(x: Any) -> np.ndarray:
    return cr.Tensor.numpy(to_tensor(x))


def inv(input: Any, adjoint: bool = False, name: Any = None) -> Tensor:  # noqa: A002
    """The inverse of each square matrix (last two axes).

    >>> from chainrule import tf
    >>> tf.linalg.inv(tf.constant([[2.0, 0.0], [0.0, 4.0]])).numpy()
    array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    return wrap(cr.inv(to_tensor(input)))


def det(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The determinant of each square matrix (last two axes).

    >>> from chainrule import tf
    >>> tf.linalg.det(tf.eye(2) * 3.0).numpy()
    np.float32(9.0)
    """
    return wrap(cr.det(to_tensor(input)))


def solve(matrix: Any, rhs: Any, adjoint: bool = False, name: Any = None) -> Tensor:
    """``x`` with ``matrix @ x == rhs``.

    >>> from chainrule import tf
    >>> tf.linalg.solve(tf.constant([[2.0, 0.0], [0.0, 4.0]]), tf.constant([[2.0], [2.0]])).numpy()
    array([[1. ],
           [0.5]], dtype=float32)
    """
    return wrap(cr.solve(to_tensor(matrix), to_tensor(rhs)))


def trace(x: Any, name: Any = None) -> Tensor:
    """The sum of the diagonal of each matrix (last two axes).

    >>> from chainrule import tf
    >>> tf.linalg.trace(tf.eye(3)).numpy()
    np.float32(3.0)
    """
    return wrap(cr.trace(to_tensor(x), axis1=-2, axis2=-1))


def matrix_transpose(a: Any, name: Any = None, conjugate: bool = False) -> Tensor:
    """Swap the last two axes.

    >>> from chainrule import tf
    >>> tf.linalg.matrix_transpose(tf.ones((2, 1, 3))).shape
    TensorShape([2, 3, 1])
    """
    return wrap(cr.swapaxes(to_tensor(a), -1, -2))


def eigh(tensor: Any, name: Any = None) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors of self-adjoint matrices, by NumPy (no gradient).

    >>> from chainrule import tf
    >>> e, v = tf.linalg.eigh(tf.constant([[2.0, 1.0], [1.0, 2.0]]))
    >>> e.numpy()
    array([1., 3.], dtype=float32)
    """
    a = _values(tensor)
    e, v = np.linalg.eigh(a)
    return wrap(cr.constant(e.astype(a.dtype))), wrap(cr.constant(v.astype(a.dtype)))


def eigvalsh(tensor: Any, name: Any = None) -> Tensor:
    """Eigenvalues (ascending) of self-adjoint matrices, by NumPy (no gradient).

    >>> from chainrule import tf
    >>> tf.linalg.eigvalsh(tf.constant([[18.0, 4.0], [4.0, 0.0]])).numpy()
    array([-0.8488578, 18.848858 ], dtype=float32)
    """
    a = _values(tensor)
    return wrap(cr.constant(np.linalg.eigvalsh(a).astype(a.dtype)))


def eig(tensor: Any, name: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of general square matrices, as NumPy complex arrays
    (complex64 for float32 input, as TensorFlow's dtypes; no gradient).

    >>> from chainrule import tf
    >>> e, v = tf.linalg.eig(tf.constant([[18.0, 4.0], [4.0, 0.0]]))
    >>> e
    array([18.848858 +0.j, -0.8488578+0.j], dtype=complex64)
    """
    a = _values(tensor)
    e, v = np.linalg.eig(a)
    kind = _COMPLEX.get(a.dtype, np.complex128)
    return e.astype(kind), v.astype(kind)


def eigvals(tensor: Any, name: Any = None) -> np.ndarray:
    """Eigenvalues of general square matrices, as a NumPy complex array (no gradient).

    >>> from chainrule import tf
    >>> tf.linalg.eigvals(tf.constant([[2.0, 0.0], [0.0, 3.0]]))
    array([2.+0.j, 3.+0.j], dtype=complex64)
    """
    return eig(tensor)[0]
