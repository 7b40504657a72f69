"""``chainrule train``: train an MLP or a small CNN on the digits or MNIST, out of the box.

    chainrule train digits                      # MLP on scikit-learn's 8×8 digits
    chainrule train digits --model cnn --epochs 10
    chainrule train mnist --data ~/mnist        # the four IDX files in ~/mnist

Each epoch shows a progress bar, then prints the training loss and accuracy and the held-out
loss and accuracy. At the end the command prints the test accuracy and writes, under ``--out``,
``weights.npz`` (the model's state dict, see :func:`build_model` to rebuild the model),
``metrics.png`` (loss and accuracy per epoch) and ``history.csv``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.core.tensor import Tensor

__all__ = ["add_parser", "run", "build_model", "DEFAULTS", "TrainResult", "train", "evaluate", "plot_history",
           "Standardize", "blas_threads"]

#: Defaults per (dataset, model): epochs, batch size, learning rate and weight decay (AdamW,
#: with the learning rate annealed to 0 along a cosine over the epochs).
DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("digits", "mlp"): {"epochs": 40, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.1},
    ("digits", "cnn"): {"epochs": 15, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.1},
    ("mnist", "mlp"): {"epochs": 10, "batch_size": 128, "lr": 1e-3, "weight_decay": 0.1},
    ("mnist", "cnn"): {"epochs": 3, "batch_size": 128, "lr": 2e-3, "weight_decay": 0.1},
}

_DTYPE = np.float32


class Standardize(nn.Module):
    """(x - mean) / std per pixel, both kept as buffers so that the saved weights carry the
    preprocessing. :meth:`fit` sets them from training images; the std gets 0.1 added so that
    pixels that are nearly always blank (the digits' borders) are not blown up.

    >>> import numpy as np
    >>> from chainrule.commands.train import Standardize
    >>> layer = Standardize((2,)).fit(np.array([[0.0, 1.0], [1.0, 1.0]], np.float32))
    >>> layer.mean.numpy().tolist(), [round(v, 3) for v in layer.std.numpy().tolist()]
    ([0.5, 1.0], [0.6, 0.1])
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", Tensor(np.zeros(shape, _DTYPE)))
        self.register_buffer("std", Tensor(np.ones(shape, _DTYPE)))

    def fit(self, x: np.ndarray) -> Standardize:
        """Set mean and std from the images ``x`` (one per row)."""
        self.mean.numpy()[...] = x.mean(axis=0)
        self.std.numpy()[...] = x.std(axis=0) + 0.1
        return self

    def forward(self, x: Any) -> Any:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"shape={tuple(self.mean.shape)}"


def build_model(dataset: str, model: str, seed: int = 0) -> Any:
    """The network ``chainrule train DATASET --model MODEL`` trains, freshly initialised.

    Its first layer standardises pixels with statistics kept as buffers (set from the training
    images by ``model[0].fit(x_train)``), so the saved weights hold everything needed to
    predict. Load saved weights with ``build_model("digits", "mlp").load_state_dict(nn.load(path))``.

    >>> from chainrule.commands.train import build_model
    >>> build_model("digits", "mlp")
    Sequential(
      (0): Standardize(shape=(8, 8))
      (1): Flatten(start_dim=1, end_dim=-1)
      (2): Linear(in_features=64, out_features=256, bias=True)
      (3): ReLU()
      (4): Dropout(p=0.2)
      (5): Linear(in_features=256, out_features=128, bias=True)
      (6): ReLU()
      (7): Dropout(p=0.2)
      (8): Linear(in_features=128, out_features=10, bias=True)
    )
    """
    if dataset not in ("digits", "mnist") or model not in ("mlp", "cnn"):
        raise ValueError(f"build_model: unknown combination dataset={dataset!r}, model={model!r}")
    gen = np.random.default_rng(seed)
    side = 8 if dataset == "digits" else 28
    if model == "mlp":
        net = nn.Sequential(
            Standardize((side, side)),
            nn.Flatten(),
            nn.Linear(side * side, 256, generator=gen), nn.ReLU(), nn.Dropout(0.2, generator=gen),
            nn.Linear(256, 128, generator=gen), nn.ReLU(), nn.Dropout(0.2, generator=gen),
            nn.Linear(128, 10, generator=gen),
        )  # fmt: skip
    else:
        after_pools = side // 4
        net = nn.Sequential(
            Standardize((1, side, side)),
            nn.Conv2d(1, 16, 3, padding=1, generator=gen), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, generator=gen), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * after_pools * after_pools, 10, generator=gen),
        )  # fmt: skip
    return net.to(_DTYPE)


@dataclass
class TrainResult:
    """What a training run produced (see :func:`train`).

    >>> from chainrule.commands.train import TrainResult
    >>> TrainResult(model=None, test_correct=3, test_count=4).test_count
    4
    """

    model: Any
    history: dict[str, list[float]] = field(default_factory=dict)
    test_accuracy: float = 0.0
    test_correct: int = 0
    test_count: int = 0
    seconds: float = 0.0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chainrule train`` on the ``chainrule`` command's subparsers.

    >>> import argparse
    >>> from chainrule.commands import train
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> args = train.add_parser(sub).parse_args(["digits", "--epochs", "2"])
    >>> args.dataset, args.epochs, args.model
    ('digits', 2, 'mlp')
    """
    parser = subparsers.add_parser(
        "train",
        help="train an MLP or CNN on the digits or MNIST",
        description=(
            "Train a small network with chainrule's own engine and report its test accuracy. "
            "Writes weights.npz, metrics.png and history.csv under --out."
        ),
    )
    parser.add_argument("dataset", choices=["digits", "mnist"],
                        help="digits: scikit-learn's bundled 8x8 digits; mnist: IDX files from --data")  # fmt: skip
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp", help="network (default: mlp)")
    parser.add_argument("--epochs", type=_positive_int, help="passes over the training set "
                        "(default: 40 digits MLP, 15 digits CNN, 10 MNIST MLP, 3 MNIST CNN)")  # fmt: skip
    parser.add_argument("--batch-size", type=_positive_int,
                        help="samples per step (default: 64 digits MLP, 32 digits CNN, 128 MNIST)")  # fmt: skip
    parser.add_argument("--lr", type=_positive_float,
                        help="peak AdamW learning rate, annealed along a cosine (default: 2e-3; 1e-3 MNIST MLP)")  # fmt: skip
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, weights and shuffling (default: 0)")
    parser.add_argument("--test-size", type=float, default=0.2,
                        help="digits only: held-out fraction, stratified by class (default: 0.2)")  # fmt: skip
    parser.add_argument("--data", metavar="DIR", help="mnist only: folder with the four MNIST IDX files")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: runs/DATASET-MODEL)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)
    return parser


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from chainrule import data

    if args.dataset == "digits":
        images, labels = data.load_digits(dtype=_DTYPE)
        x_train, x_test, y_train, y_test = data.train_test_split(
            images, labels, test_size=args.test_size, seed=args.seed, stratify=labels
        )
    else:
        if not args.data:
            raise FileNotFoundError(
                "chainrule train mnist needs --data DIR: a folder holding "
                + ", ".join(data.MNIST_FILES.values()) + " (each may be gzipped, ending in .gz)"
            )
        (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data, dtype=_DTYPE)
    if args.model == "cnn":  # NCHW with one channel
        x_train, x_test = x_train[:, None], x_test[:, None]
    return x_train, x_test, y_train, y_test


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> tuple[float, int]:
    """Mean cross-entropy and number of correct predictions of ``model`` on (x, y).

    >>> import numpy as np
    >>> from chainrule.commands.train import build_model, evaluate
    >>> loss, correct = evaluate(build_model("digits", "mlp"), np.zeros((4, 8, 8), np.float32), np.zeros(4, np.int64))
    >>> 0 <= correct <= 4
    True
    """
    import chainrule as cr
    from chainrule.nn import functional as F

    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with cr.no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = cr.tensor(x[start : start + batch_size]), cr.tensor(y[start : start + batch_size])
            logits = model(xb)
            total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.numpy().argmax(axis=1) == yb.numpy()).sum())
    model.train(was_training)
    return total_loss / max(len(x), 1), correct


def _progress(iterable: Any, total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="batch", leave=False, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.2)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, built once: inspecting them costs about
    a millisecond, setting their thread count afterwards only microseconds."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(count: int = 1) -> Iterator[None]:
    """Limit BLAS to ``count`` threads inside the block (when threadpoolctl is installed).

    The matrices of these models are small: a second BLAS thread saves little and, on a busy
    machine, threads waiting for each other can make every product many times slower.

    >>> from chainrule.commands.train import blas_threads
    >>> with blas_threads(1):
    ...     pass
    """
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=count, user_api="blas"):
        yield


def train(model: Any, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
          epochs: int, batch_size: int, lr: float, weight_decay: float = 0.1, seed: int = 0,
          progress: bool = True, log: Any = print) -> TrainResult:  # fmt: skip
    """Train ``model`` with AdamW (learning rate annealed to 0 along a cosine) on cross-entropy,
    evaluating on the test set after each epoch. A leading :class:`Standardize` layer is fitted
    to ``x_train`` first.

    >>> import numpy as np
    >>> from chainrule.commands.train import build_model, train
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((40, 8, 8)).astype(np.float32), rng.integers(0, 10, 40)
    >>> result = train(build_model("digits", "mlp"), x, y, x[:8], y[:8], epochs=2, batch_size=16,
    ...                lr=1e-3, progress=False, log=lambda line: None)
    >>> len(result.history["train_loss"]), result.test_count
    (2, 8)
    """
    from chainrule import data, optim
    from chainrule.nn import functional as F

    first = model[0] if isinstance(model, nn.Sequential) and len(model) else None
    if isinstance(first, Standardize):
        first.fit(x_train)
    loader = data.DataLoader(data.TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=epochs)
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [], "seconds": []}
    started = time.perf_counter()
    width = len(str(epochs))
    for epoch in range(1, epochs + 1):
        tick = time.perf_counter()
        model.train()
        seen, loss_sum, correct = 0, 0.0, 0
        bar = _progress(loader, len(loader), f"epoch {epoch}/{epochs}", progress)
        with blas_threads(1):
            for xb, yb in bar:
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                n = len(yb)
                seen += n
                loss_sum += float(loss) * n
                correct += int((logits.numpy().argmax(axis=1) == yb.numpy()).sum())
                if bar is not loader:
                    bar.set_postfix_str(f"loss {loss_sum / seen:.4f}", refresh=False)
            if bar is not loader:
                bar.close()
            schedule.step()
            test_loss, test_correct = evaluate(model, x_test, y_test)
        seconds = time.perf_counter() - tick
        history["train_loss"].append(loss_sum / seen)
        history["train_acc"].append(correct / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_correct / len(y_test))
        history["seconds"].append(seconds)
        log(f"epoch {epoch:>{width}}/{epochs}  loss {loss_sum / seen:.4f}  acc {100 * correct / seen:6.2f}%  "
            f"test loss {test_loss:.4f}  test acc {100 * test_correct / len(y_test):6.2f}%  ({seconds:.2f} s)")  # fmt: skip
    return TrainResult(model, history, test_correct / len(y_test), test_correct, len(y_test),
                       time.perf_counter() - started)  # fmt: skip


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> Path:
    """Write loss and accuracy per epoch as a PNG (matplotlib's Agg canvas, no display needed).

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> from chainrule.commands.train import plot_history
    >>> history = {"train_loss": [1.0, 0.5], "test_loss": [1.1, 0.7], "train_acc": [0.5, 0.8], "test_acc": [0.4, 0.7]}
    >>> path = plot_history(history, Path(tempfile.mkdtemp()) / "m.png", "demo")
    >>> path.read_bytes()[1:4]
    b'PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, history["train_loss"], marker="o", label="train")
    ax_loss.plot(epochs, history["test_loss"], marker="o", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.plot(epochs, 100 * np.asarray(history["train_acc"]), marker="o", label="train")
    ax_acc.plot(epochs, 100 * np.asarray(history["test_acc"]), marker="o", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _write_history(history: dict[str, list[float]], path: Path) -> None:
    keys = ["train_loss", "train_acc", "test_loss", "test_acc", "seconds"]
    lines = ["epoch," + ",".join(keys)]
    for i in range(len(history["train_loss"])):
        lines.append(f"{i + 1}," + ",".join(f"{history[k][i]:.6g}" for k in keys))
    path.write_text("\n".join(lines) + "\n")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule train`` with parsed arguments; returns the exit status.

    >>> import argparse
    >>> from chainrule.commands import train
    >>> args = train.add_parser(argparse.ArgumentParser().add_subparsers()).parse_args(["mnist"])
    >>> train.run(args)  # no --data: says what is needed on stderr
    1
    """
    import chainrule as cr

    settings = dict(DEFAULTS[(args.dataset, args.model)])
    for key in ("epochs", "batch_size", "lr", "weight_decay"):
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if not (np.isfinite(settings["weight_decay"]) and settings["weight_decay"] >= 0):
        print(f"chainrule train: --weight-decay must be >= 0, got {settings['weight_decay']}", file=sys.stderr)
        return 2
    if args.dataset == "digits" and not 0.0 < args.test_size < 1.0:
        print(f"chainrule train: --test-size must be between 0 and 1, got {args.test_size}", file=sys.stderr)
        return 2
    if args.dataset == "digits" and args.data:
        print("chainrule train: --data is for mnist; the digits come with scikit-learn", file=sys.stderr)
        return 2
    try:
        x_train, x_test, y_train, y_test = _load(args)
    except (ImportError, OSError, ValueError) as exc:
        # Data problems (missing, unreadable or malformed files, an empty split) end in one line
        # on stderr; the messages name the file.
        print(f"chainrule train: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else Path("runs") / f"{args.dataset}-{args.model}"
    cr.random.seed(args.seed)
    model = build_model(args.dataset, args.model, seed=args.seed)
    print(f"chainrule train {args.dataset}: {args.model}, {len(x_train)} training / {len(x_test)} test "
          f"images, {_plural(settings['epochs'], 'epoch')}, batch {settings['batch_size']}, AdamW lr {settings['lr']:g} "
          f"(cosine), weight decay {settings['weight_decay']:g}, seed {args.seed}")  # fmt: skip
    print(model)
    print(f"{model.num_parameters():,} parameters")
    result = train(model, x_train, y_train, x_test, y_test, settings["epochs"], settings["batch_size"],
                   settings["lr"], settings["weight_decay"], seed=args.seed,
                   progress=not args.no_progress)  # fmt: skip
    print(f"test accuracy: {100 * result.test_accuracy:.2f}% ({result.test_correct}/{result.test_count}) "
          f"after {_plural(settings['epochs'], 'epoch')} in {result.seconds:.1f} s")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    weights = nn.save(model, out / "weights.npz")
    print(f"weights: {weights}")
    _write_history(result.history, out / "history.csv")
    print(f"history: {out / 'history.csv'}")
    try:
        plot = plot_history(result.history, out / "metrics.png",
                            f"chainrule: {args.model} on {args.dataset}, test accuracy {100 * result.test_accuracy:.2f}%")  # fmt: skip
        print(f"plot: {plot}")
    except ImportError:
        print("plot: skipped, matplotlib is not installed (pip install chainrule[train])", file=sys.stderr)
    return 0
