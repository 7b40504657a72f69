"""``tf.math``: elementwise functions, reductions and comparisons.

>>> from chainrule import tf
>>> tf.math.reduce_sum(tf.math.square(tf.constant([1.0, 2.0]))).numpy()
np.float32(5.0)
"""

from chainrule.tf._ops import (
    abs,
    add,
    add_n,
    argmax,
    argmin,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    log_softmax,
    maximum,
    minimum,
    multiply,
    negative,
    norm,
    not_equal,
    pow,
    reciprocal,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
)  # fmt: skip
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.math")

__all__ = [
    "abs", "add", "add_n", "argmax", "argmin", "cos", "divide", "equal", "exp", "greater",
    "greater_equal", "less", "less_equal", "log", "log1p", "log_softmax", "maximum", "minimum",
    "multiply", "negative", "norm", "not_equal", "pow", "reciprocal", "reduce_logsumexp", "reduce_max",
    "reduce_mean", "reduce_min", "reduce_prod", "reduce_std", "reduce_sum", "reduce_variance",
    "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt", "square", "subtract", "tan", "tanh",
]  # fmt: skip
