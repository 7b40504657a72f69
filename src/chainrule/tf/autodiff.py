"""``tf.autodiff``: forward mode (``ForwardAccumulator``) and reverse mode (``GradientTape``).

>>> from chainrule import tf
>>> x = tf.constant(3.0)
>>> with tf.autodiff.ForwardAccumulator(x, tf.constant(1.0)) as acc:
...     y = x * x
>>> print(acc.jvp(y))
tf.Tensor(6.0, shape=(), dtype=float32)
"""

from chainrule.tf._tape import ForwardAccumulator, GradientTape
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.autodiff")

__all__ = ["ForwardAccumulator", "GradientTape"]
