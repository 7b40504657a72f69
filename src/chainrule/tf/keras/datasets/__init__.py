"""``tf.keras.datasets``: MNIST, read from local files (nothing is downloaded).

>>> from chainrule.tf.keras.datasets import mnist
>>> mnist.ENV_VAR
'CHAINRULE_MNIST'
"""

from chainrule.tf.keras.datasets import mnist

__all__ = ["mnist"]
