"""``tf.image``: ``adjust_contrast``.

>>> from chainrule import tf
>>> tf.image.adjust_contrast(tf.constant([[[0.25], [0.75]]]), 2.0).numpy().ravel()
array([0., 1.], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.tf._tensor import Tensor, operand, to_tensor, wrap
from chainrule.tf._unsupported import missing

__all__ = ["adjust_contrast"]

__getattr__ = missing("tf.image")

#: TensorFlow's words when an op without a registered gradient is differentiated.
NO_GRADIENT_MESSAGE = "gradient registry has no entry for: {}"


def _no_gradient(result: Any, op_type: str) -> Any:
    """Make differentiating through ``result`` fail as it does in TensorFlow, which registers no
    gradient for ``op_type``: the value is computed (and recorded) as usual, and the backward
    sweep raises TensorFlow's ``LookupError`` when it reaches it, instead of answering with a
    gradient TensorFlow would not give."""
    if result.grad_fn is not None:

        def refuse(grad: Any) -> None:
            raise LookupError(NO_GRADIENT_MESSAGE.format(op_type))

        result.register_hook(refuse)
    return result


def adjust_contrast(images: Any, contrast_factor: Any) -> Tensor:
    """Scale each channel's deviation from its mean over the image: ``(x - mean) * factor + mean``,
    the mean taken over the height and width axes (``[..., height, width, channels]``).

    As in TensorFlow, the op has no gradient: a tape that differentiates through it raises
    ``LookupError: gradient registry has no entry for: AdjustContrastv2``. Floating images only.

    >>> from chainrule import tf
    >>> image = tf.Variable([[[0.5, 0.0, 0.0]]])
    >>> with tf.GradientTape() as tape:
    ...     out = tf.image.adjust_contrast(image, 0.1)
    >>> out.numpy()
    array([[[0.5, 0. , 0. ]]], dtype=float32)
    >>> try:
    ...     tape.gradient(out, image)
    ... except LookupError as error:
    ...     print(error)
    gradient registry has no entry for: AdjustContrastv2
    """
    x = to_tensor(images)
    if x.ndim < 3:
        raise ValueError(f"tf.image.adjust_contrast: images must be at least 3-D [..., height, width, channels], got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"tf.image.adjust_contrast: the chainrule TensorFlow dialect adjusts floating images only, "
            f"got {x.dtype.name}; use tf.cast(images, tf.float32) / 255 first"
        )
    factor = operand(contrast_factor, x.dtype)
    mean = cr.mean(x, axis=(-3, -2), keepdims=True)
    out = wrap(cr.add(cr.multiply(cr.subtract(x, mean), factor), mean))
    return _no_gradient(out, "AdjustContrastv2")
