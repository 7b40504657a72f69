"""``torch.utils``: ``benchmark`` (a ``Timer`` printing as PyTorch's); ``torch.utils.data`` is
``chainrule.data`` (see docs/dialects/torch.md)."""

from chainrule.torch._unsupported import missing_attribute
from chainrule.torch.utils import benchmark

__all__ = ["benchmark"]

__getattr__ = missing_attribute("torch.utils")
