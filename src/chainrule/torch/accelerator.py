"""``torch.accelerator``: there is none here (chainrule computes on the CPU).

>>> from chainrule import torch
>>> torch.accelerator.is_available(), torch.accelerator.current_accelerator()
(False, None)
"""

from __future__ import annotations

from typing import Any

from chainrule.torch._unsupported import missing_attribute

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    """False: no accelerator."""
    return False


def current_accelerator(check_available: bool = False) -> Any:
    """None, as PyTorch returns when no accelerator is present."""
    return None


def device_count() -> int:
    """0: no accelerators."""
    return 0


__getattr__ = missing_attribute("torch.accelerator")
