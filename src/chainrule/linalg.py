"""``chainrule.linalg``: ``numpy.linalg``'s functions, differentiable, with NumPy's names,
signatures and semantics (batched over leading dimensions where NumPy is).

>>> import chainrule as cr
>>> a = cr.tensor([[2., 1.], [1., 3.]], requires_grad=True)
>>> cr.linalg.slogdet(a)[1].backward()
>>> a.grad  # d log|det a| / da = inv(a).T
tensor([[ 0.6, -0.2],
        [-0.2,  0.4]], dtype=float64)
"""

from __future__ import annotations

from chainrule.ops.linalg import (
    cholesky,
    det,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    inv,
    matmul,
    matrix_power,
    norm,
    pinv,
    slogdet,
    solve,
    svd,
)

__all__ = [
    "cholesky", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul", "matrix_power",
    "norm", "pinv", "slogdet", "solve", "svd",
]  # fmt: skip
