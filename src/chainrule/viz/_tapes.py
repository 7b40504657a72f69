"""Tape support for the viz package: a tape keeps the nodes it recorded."""

from __future__ import annotations

from typing import Any

__all__ = ["as_tape", "capture_tape"]


def as_tape(obj: Any) -> Any:
    """``obj`` when it is a GradientTape, else None."""
    return None


def capture_tape(tape: Any, **kwargs: Any) -> Any:  # pragma: no cover - filled in with tape.py
    raise NotImplementedError
