"""Datasets and the DataLoader that batches them, with seeded shuffling."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor, wrap_array

__all__ = ["Dataset", "TensorDataset", "DataLoader", "train_test_split"]


class Dataset:
    """Base class: a sized collection of samples; subclasses define ``__getitem__`` and ``__len__``.

    >>> from chainrule import data
    >>> class Squares(data.Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return float(i), float(i * i)
    >>> [batch[1].tolist() for batch in data.DataLoader(Squares(), batch_size=2)]
    [[0.0, 1.0], [4.0, 9.0]]
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _raw(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


class TensorDataset(Dataset):
    """Samples are the rows of one or more arrays of the same length (features, labels...).

    >>> import numpy as np
    >>> from chainrule import data
    >>> ds = data.TensorDataset(np.zeros((5, 2)), np.arange(5))
    >>> len(ds), ds[3][1]
    (5, np.int64(3))
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = tuple(_raw(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(
                f"TensorDataset: every array needs the same first dimension (one row per sample), "
                f"got shapes {shapes}"
            )

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)


def _default_collate(samples: list[Any]) -> Any:
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: _default_collate([s[key] for s in samples]) for key in first}
    arrays = [_raw(s) for s in samples]
    try:
        return Tensor(np.stack(arrays))
    except ValueError:
        shapes = sorted({np.shape(a) for a in arrays}, key=str)
        raise ValueError(
            f"DataLoader: cannot batch samples of shapes {', '.join(map(str, shapes))}: every "
            "sample must have the same shape; resize or pad them, or pass collate_fn= to build "
            "the batch yourself"
        ) from None


class DataLoader:
    """Iterate over a dataset in batches of ``batch_size`` samples, as Tensors.

    ``shuffle`` draws a new order every epoch from a generator seeded with ``seed`` (so a run
    repeats exactly), or from ``chainrule.random.generator()`` when ``seed`` is None.
    ``drop_last`` skips a last, smaller batch. A :class:`TensorDataset` is batched by slicing
    its arrays directly, without building samples one by one.

    >>> import numpy as np
    >>> from chainrule import data
    >>> ds = data.TensorDataset(np.arange(5.0), np.arange(5))
    >>> [y.tolist() for _, y in data.DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> def order(seed):
    ...     loader = data.DataLoader(ds, batch_size=2, shuffle=True, seed=seed, drop_last=True)
    ...     return [y.tolist() for _, y in loader]
    >>> order(0) == order(0), len(order(0))
    (True, 2)
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, collate_fn: Callable[[list[Any]], Any] | None = None) -> None:  # fmt: skip
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"DataLoader: the dataset must support len() and indexing, got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = collate_fn
        self._generator = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self._generator is not None:
            return self._generator.permutation(n)
        from chainrule import random

        return random.generator().permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        for start in range(0, stop, self.batch_size):
            index = order[start : start + self.batch_size]
            if fast:
                if not self.shuffle:
                    # Contiguous rows: a slice copies nothing until the batch is used.
                    index = slice(start, start + len(index))
                yield tuple(_wrap(a[index]) for a in self.dataset.arrays)
            else:
                samples = [self.dataset[int(i)] for i in index]
                yield (self.collate_fn or _default_collate)(samples)


_wrap = wrap_array


def train_test_split(*arrays: Any, test_size: float = 0.2, seed: int = 0,
                     stratify: Sequence[Any] | np.ndarray | None = None) -> list[np.ndarray]:  # fmt: skip
    """Split arrays (same first dimension) into a train and a test part, deterministically.

    Returns ``[a_train, a_test, b_train, b_test, ...]``. With ``stratify`` (usually the labels)
    each class keeps its proportion in both parts: every class contributes round(test_size·count)
    samples to the test part.

    >>> import numpy as np
    >>> from chainrule import data
    >>> x, y = np.arange(10).reshape(10, 1), np.array([0] * 5 + [1] * 5)
    >>> x_tr, x_te, y_tr, y_te = data.train_test_split(x, y, test_size=0.4, seed=0, stratify=y)
    >>> len(x_tr), len(x_te), int(y_te.sum())
    (6, 4, 2)
    """
    if not arrays:
        raise ValueError("train_test_split: give at least one array")
    raws = [_raw(a) for a in arrays]
    n = raws[0].shape[0] if raws[0].ndim else 0
    if any(r.ndim == 0 or r.shape[0] != n for r in raws):
        raise ValueError(
            "train_test_split: every array needs the same first dimension, got shapes "
            + ", ".join(str(r.shape) for r in raws)
        )
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"train_test_split: test_size must be a fraction in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        order = rng.permutation(n)
        n_test = int(round(test_size * n))
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        labels = _raw(stratify)
        if labels.shape[:1] != (n,):
            raise ValueError(f"train_test_split: stratify needs one label per sample ({n}), got shape {labels.shape}")
        test_parts, train_parts = [], []
        for cls in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == cls))
            k = int(round(test_size * len(members)))
            test_parts.append(members[:k])
            train_parts.append(members[k:])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    if len(test_idx) == 0 or len(train_idx) == 0:
        raise ValueError(f"train_test_split: test_size={test_size} leaves one part empty for {n} samples")
    out: list[np.ndarray] = []
    for r in raws:
        out.extend([r[train_idx], r[test_idx]])
    return out
