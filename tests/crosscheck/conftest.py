"""Keep PyTorch to one thread: the suite runs under xdist on two cores, and torch's own thread
pool would otherwise oversubscribe them (the cross-check compares values, not speed)."""

from __future__ import annotations

try:
    import torch
except ImportError:  # the test module skips itself
    torch = None

if torch is not None:
    torch.set_num_threads(1)
