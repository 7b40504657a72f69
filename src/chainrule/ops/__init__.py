"""The op families. Importing this package registers every primitive and attaches Tensor's
operators and methods (each family that adds methods has an ``install()``)."""

from chainrule.ops import (
    binary,
    complex,
    creation,
    indexing,
    linalg,
    methods,
    nn,
    nondiff,
    numpy_protocol,
    reduce,
    shape,
    unary,
)  # fmt: skip

FAMILIES = (unary, binary, nondiff, reduce, shape, indexing, linalg, nn, creation, complex)

methods.install()
numpy_protocol.install()
for _family in FAMILIES:
    if hasattr(_family, "install"):
        _family.install()

# Moving tensors between array libraries (cr.asarray(like=), Tensor.to): issue 16.
from chainrule.ops import backends  # noqa: E402

FAMILIES += (backends,)
backends.install()

__all__ = [name for family in FAMILIES for name in family.__all__]
