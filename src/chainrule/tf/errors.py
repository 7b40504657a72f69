"""``tf.errors``: the exception the dialect raises for mismatched dtypes.

>>> from chainrule import tf
>>> issubclass(tf.errors.InvalidArgumentError, TypeError)
True
"""

from chainrule.tf._tensor import InvalidArgumentError
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.errors")

__all__ = ["InvalidArgumentError"]
