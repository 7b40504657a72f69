"""``torch.backends``: the flags of PyTorch's kernel libraries, accepted and without effect.

chainrule computes with NumPy, so settings such as ``torch.backends.cudnn.deterministic = True``
or ``torch.backends.cuda.matmul.allow_tf32 = False`` change nothing (the results are
deterministic and in full precision anyway); the ``is_available()`` queries answer False except
for the CPU.

>>> from chainrule import torch
>>> torch.backends.cudnn.deterministic = True
>>> torch.backends.mps.is_available(), torch.backends.cudnn.is_available()
(False, False)
"""

from __future__ import annotations

from typing import Any

from chainrule.torch._unsupported import missing_attribute, unsupported

__all__ = ["cudnn", "cuda", "mps", "mkldnn", "mkl", "openmp", "cpu"]


class _Backend:
    """One backend: ``is_available()`` plus flags that can be read and set freely."""

    def __init__(self, name: str, available: bool, **flags: Any) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_available", available)
        for key, value in flags.items():
            object.__setattr__(self, key, value)

    def is_available(self) -> bool:
        """Whether the backend exists here (only the CPU ones do)."""
        return self._available

    def is_built(self) -> bool:
        """Whether PyTorch would have been built with it: answered like ``is_available``."""
        return self._available

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(f"{self._name}.{name}")

    def __repr__(self) -> str:
        return f"<chainrule.torch {self._name} (flags accepted, no effect)>"


cudnn = _Backend("torch.backends.cudnn", False, enabled=True, benchmark=False, deterministic=False,
                 allow_tf32=True)  # fmt: skip
cuda = _Backend("torch.backends.cuda", False,
                matmul=_Backend("torch.backends.cuda.matmul", False, allow_tf32=False,
                                allow_fp16_reduced_precision_reduction=True,
                                allow_bf16_reduced_precision_reduction=True))  # fmt: skip
mps = _Backend("torch.backends.mps", False)
mkldnn = _Backend("torch.backends.mkldnn", False, enabled=True)
mkl = _Backend("torch.backends.mkl", False)
openmp = _Backend("torch.backends.openmp", False)
cpu = _Backend("torch.backends.cpu", True)

__getattr__ = missing_attribute("torch.backends")
