"""``tf.dtypes``: the dtype objects and conversion.

>>> from chainrule import tf
>>> tf.dtypes.as_dtype("int32"), tf.dtypes.float32.is_floating
(tf.int32, True)
"""

from chainrule.tf._ops import cast
from chainrule.tf._tensor import (
    DType,
    as_dtype,
    bool,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)  # fmt: skip
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.dtypes")

__all__ = [
    "DType", "as_dtype", "cast", "bool", "float16", "float32", "float64", "int8", "int16",
    "int32", "int64", "uint8",
]  # fmt: skip
