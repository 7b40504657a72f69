"""``tf.saved_model``: not supported by the dialect (chainrule builds no graph to serialise).

``save``, ``load`` and their options raise ``NotImplementedError`` saying so, so that code
written for TensorFlow stops at the line that needs them.

>>> from chainrule import tf
>>> try:
...     tf.saved_model.save(tf.Module(), "saved_model")
... except NotImplementedError as error:
...     print(str(error)[:66])
tf.saved_model.save is not supported by the chainrule TensorFlow d
"""

from __future__ import annotations

from typing import Any, NoReturn

from chainrule.tf._unsupported import missing

__all__ = ["save", "load", "SaveOptions", "LoadOptions"]

__getattr__ = missing("tf.saved_model")


def _refuse(name: str) -> NoReturn:
    raise NotImplementedError(
        f"tf.saved_model.{name} is not supported by the chainrule TensorFlow dialect: functions run "
        "eagerly and there is no graph to save or load; keep the weights with "
        "layer.get_weights() / np.savez instead"
    )


def save(obj: Any, export_dir: Any, signatures: Any = None, options: Any = None) -> NoReturn:
    """Not supported: raises ``NotImplementedError``."""
    _refuse("save")


def load(export_dir: Any, tags: Any = None, options: Any = None) -> NoReturn:
    """Not supported: raises ``NotImplementedError``."""
    _refuse("load")


class SaveOptions:
    """Not supported: building one raises ``NotImplementedError``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("SaveOptions")


class LoadOptions:
    """Not supported: building one raises ``NotImplementedError``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse("LoadOptions")
