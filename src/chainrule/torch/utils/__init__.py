"""``torch.utils``: ``benchmark`` (a ``Timer`` printing as PyTorch's) and ``checkpoint``
(``chainrule.checkpoint``); ``torch.utils.data`` is ``chainrule.data`` (see
docs/dialects/torch.md)."""

from chainrule.torch._unsupported import missing_attribute
from chainrule.torch.utils import benchmark, checkpoint

__all__ = ["benchmark", "checkpoint"]

__getattr__ = missing_attribute("torch.utils")
