"""chainrule.data: datasets, a batching DataLoader, and the digits and MNIST data sets.

>>> from chainrule import data
>>> images, labels = data.load_digits(flatten=True)
>>> x_train, x_test, y_train, y_test = data.train_test_split(images, labels, seed=0, stratify=labels)
>>> loader = data.DataLoader(data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
>>> x, y = next(iter(loader))
>>> x.shape, y.shape
((64, 64), (64,))
"""

from chainrule.data.dataset import DataLoader, Dataset, TensorDataset, train_test_split
from chainrule.data.datasets import (
    MNIST_FILES,
    IDXFormatError,
    load_digits,
    load_mnist,
    read_idx,
    write_idx,
)  # fmt: skip

__all__ = [
    "Dataset", "TensorDataset", "DataLoader", "train_test_split",
    "load_digits", "load_mnist", "read_idx", "write_idx", "MNIST_FILES", "IDXFormatError",
]  # fmt: skip
