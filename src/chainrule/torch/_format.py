"""Print tensors the way PyTorch does.

The rules (reimplemented from PyTorch's documented behaviour and observed output, with its
default print options: 4 digits of precision, 80 columns, summaries above 1000 elements):

- All elements share one format, chosen from the finite non-zero values: whole numbers print as
  ``6.``; otherwise 4 fixed decimals (``0.5000``); scientific notation (``1.0000e-05``) when the
  largest magnitude is over 1e8, the ratio of largest to smallest over 1000, or (for non-whole
  values) the smallest under 1e-4. Every element is right-aligned to the widest one.
- A row wraps when it would pass 80 columns; nested rows are indented under the first bracket;
  blocks of a 3-D tensor are separated by a blank line.
- Above 1000 elements only the first and last 3 entries of each dimension are shown, with ``...``.
- Suffixes follow the values: ``dtype=`` for a dtype other than the default float, int64 and
  bool; then ``grad_fn=<Name>`` or ``requires_grad=True``. A suffix that does not fit on the last
  line goes on a new line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["tensor_repr", "PRINT_OPTIONS", "set_printoptions"]

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
PRINT_OPTIONS = dict(_DEFAULTS)


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:  # fmt: skip
    """Change how tensors print (PyTorch's options; ``profile='default'`` restores them).

    >>> from chainrule import torch
    >>> torch.set_printoptions(precision=2)
    >>> torch.tensor([1.2345])
    tensor([1.23])
    >>> torch.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile != "default":
            raise ValueError("set_printoptions: only profile='default' is supported")
        PRINT_OPTIONS.update(_DEFAULTS)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):  # fmt: skip
        if value is not None:
            PRINT_OPTIONS[name] = int(value)
    PRINT_OPTIONS["sci_mode"] = sci_mode if profile is None or sci_mode is not None else None


class _ElementFormat:
    """One shared format and width for every element of a tensor."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.whole = True
        self.scientific = False
        self.width = 1
        precision = PRINT_OPTIONS["precision"]
        self.precision = precision
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        shown = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        smallest = float(magnitudes.min())
        largest = float(magnitudes.max())
        self.whole = bool(np.all(shown == np.ceil(shown)))
        spread = largest / smallest > 1000.0 or largest > 1.0e8
        if self.whole:
            self.scientific = spread
        else:
            self.scientific = spread or smallest < 1.0e-4
        if PRINT_OPTIONS["sci_mode"] is not None:
            self.scientific = bool(PRINT_OPTIONS["sci_mode"])
        if self.scientific:
            texts = [f"{v:.{precision}e}" for v in shown.tolist()]
        elif self.whole:
            texts = [f"{v:.0f}." for v in shown.tolist()]
        else:
            texts = [f"{v:.{precision}f}" for v in shown.tolist()]
        self.width = max(len(t) for t in texts)

    def __call__(self, value: Any) -> str:
        if not self.floating:
            text = str(value)
        elif self.scientific:
            text = f"{value:{self.width}.{self.precision}e}"
        elif self.whole:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = f"{value:.{self.precision}f}"
        return text.rjust(self.width)


def _summary(a: np.ndarray) -> np.ndarray:
    """The entries a summarised print shows: the first and last few along every dimension."""
    edge = PRINT_OPTIONS["edgeitems"]
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:edge], a[-edge:]]) if a.shape[0] > 2 * edge else a
    rows = list(range(a.shape[0]))
    if a.shape[0] > 2 * edge:
        rows = rows[:edge] + rows[-edge:]
    return np.stack([_summary(a[i]) for i in rows])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _ElementFormat) -> str:
    edge = PRINT_OPTIONS["edgeitems"]
    per_line = max(1, (PRINT_OPTIONS["linewidth"] - indent) // (fmt.width + 2))
    if summarize and a.shape[0] > 2 * edge:
        items = [fmt(v) for v in a[:edge].tolist()] + [" ..."] + [fmt(v) for v in a[-edge:].tolist()]
    else:
        items = [fmt(v) for v in a.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: _ElementFormat) -> str:
    if a.ndim == 0:
        return fmt(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    edge = PRINT_OPTIONS["edgeitems"]
    n = a.shape[0]
    if summarize and n > 2 * edge:
        parts = [_body(a[i], indent + 1, summarize, fmt) for i in range(edge)]
        parts.append("...")
        parts += [_body(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)]
    else:
        parts = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    separator = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    pieces = [text]
    # Width of the last line as PyTorch counts it (the count is 2 more than the visible width
    # when the text has no newline; kept so that wrapping decisions match PyTorch's).
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTIONS["linewidth"]:
            pieces.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def tensor_repr(
    values: np.ndarray, dtype_text: str | None, grad_fn_name: str | None, requires_grad: bool
) -> str:
    """``tensor(...)`` text for ``values``.

    ``dtype_text`` is the ``dtype=`` suffix to show (None for the default dtypes); the autograd
    suffix is ``grad_fn=<grad_fn_name>`` or ``requires_grad=True``.

    >>> import numpy as np
    >>> tensor_repr(np.array([0.5, 0.2], np.float32), None, None, True)
    'tensor([0.5000, 0.2000], requires_grad=True)'
    """
    prefix = "tensor("
    indent = len(prefix)
    suffixes: list[str] = []
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        body = "[]"
    else:
        summarize = values.size > PRINT_OPTIONS["threshold"]
        fmt = _ElementFormat(_summary(values) if summarize else values)
        body = _body(values, indent, summarize, fmt)
    if dtype_text is not None:
        suffixes.append(f"dtype={dtype_text}")
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
