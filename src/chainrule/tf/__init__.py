"""chainrule.tf: TensorFlow's names and semantics on chainrule's engine.

Write ``from chainrule import tf`` in place of ``import tensorflow as tf``. Tensors are float32
by default and print as TensorFlow's; ``GradientTape`` is chainrule's tape, so every gradient
comes from the one native engine. A name map, not a second implementation: see
docs/dialects/tf.md for what is supported and how it differs from TensorFlow.

>>> from chainrule import tf
>>> x = tf.Variable(3.0)
>>> with tf.GradientTape() as tape:
...     y = x ** 2
>>> dy_dx = tape.gradient(y, x)
>>> print(f"derivada de y respecto a x en x=3 igual a {dy_dx}")
derivada de y respecto a x en x=3 igual a 6.0
>>> print(dy_dx)
tf.Tensor(6.0, shape=(), dtype=float32)
"""

import chainrule as _cr
from chainrule.tf import autodiff, dtypes, errors, image, linalg, math, nn, random, saved_model
from chainrule.tf._function import TensorSpec, function
from chainrule.tf._module import Module
from chainrule.tf._ops import (
    abs,
    add,
    add_n,
    argmax,
    argmin,
    cast,
    clip_by_norm,
    clip_by_value,
    concat,
    cos,
    divide,
    einsum,
    equal,
    exp,
    expand_dims,
    eye,
    fill,
    gather,
    greater,
    greater_equal,
    identity,
    less,
    less_equal,
    linspace,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    norm,
    not_equal,
    one_hot,
    ones,
    ones_like,
    pad,
    pow,
    rank,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    reshape,
    shape,
    sigmoid,
    sign,
    sin,
    size,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    tan,
    tanh,
    tensordot,
    transpose,
    where,
    zeros,
    zeros_like,
)  # fmt: skip
from chainrule.tf._ops import tf_range as range  # noqa: A004
from chainrule.tf._tape import (
    ForwardAccumulator,
    GradientTape,
    UnconnectedGradients,
    custom_gradient,
    recompute_grad,
    stop_gradient,
)  # fmt: skip
from chainrule.tf._tensor import (
    DType,
    Tensor,
    TensorShape,
    Variable,
    as_dtype,
    bool,
    constant,
    convert_to_tensor,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    newaxis,
    uint8,
)  # fmt: skip

__version__ = f"chainrule-{_cr.__version__}"


def __getattr__(name: str):  # noqa: ANN202 - module attribute hook
    # keras is imported on first use: it pulls in chainrule.nn/optim/data, which plain tensor
    # code does not need.
    if name == "keras":
        import importlib

        return importlib.import_module("chainrule.tf.keras")
    if name == "print":
        # tf.print is served from here, not bound as a module global, so that Python's print
        # keeps its meaning inside this module (and in its doctests).
        from chainrule.tf._function import print_

        return print_
    if name.startswith("__"):  # Python's own probes (__wrapped__, __path__...)
        raise AttributeError(name)
    raise AttributeError(
        f"tf.{name} is not supported by the chainrule TensorFlow dialect (docs/dialects/tf.md "
        "lists what is)"
    )


__all__ = [
    "Tensor", "Variable", "TensorShape", "DType", "constant", "convert_to_tensor", "GradientTape",
    "ForwardAccumulator", "UnconnectedGradients", "stop_gradient", "custom_gradient", "recompute_grad",
    "as_dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "newaxis",
    "cast", "reshape", "transpose", "concat", "stack", "ones", "zeros", "ones_like", "zeros_like",
    "fill", "range", "linspace", "one_hot", "eye", "matmul", "reduce_sum", "reduce_mean",
    "reduce_max", "reduce_min", "reduce_prod", "reduce_logsumexp", "reduce_all", "reduce_any",
    "square", "sqrt", "abs", "exp", "sin", "cos", "tan", "tanh", "sigmoid", "sign", "negative",
    "maximum", "minimum", "add", "add_n", "subtract", "multiply", "divide", "pow", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "where", "identity",
    "expand_dims", "squeeze", "gather", "shape", "size", "rank", "argmax", "argmin",
    "clip_by_value", "clip_by_norm", "norm", "pad", "tensordot", "einsum", "function", "TensorSpec",
    "Module", "math", "linalg", "random", "nn", "image", "autodiff", "dtypes", "errors", "keras",
    "saved_model",
]  # fmt: skip

# tf.print (runs at every call of a tf.function) is served by __getattr__ above and left out of
# __all__, so that `from chainrule.tf import *` does not replace Python's print.
