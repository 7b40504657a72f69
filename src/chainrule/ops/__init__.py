"""The op families. Importing this package registers every primitive and attaches Tensor's
operators and methods."""

from chainrule.ops import binary, creation, methods, nondiff, numpy_protocol, reduce, shape, unary

methods.install()
numpy_protocol.install()

__all__ = ["binary", "creation", "nondiff", "reduce", "shape", "unary"]
