"""`chainrule train`: end to end on the digits and on small MNIST files built in tmp_path."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numpy as np
import pytest

from chainrule import data, nn
from chainrule.cli import main
from chainrule.commands import train as train_command

EPOCH_LINE = re.compile(r"^epoch +(\d+)/(\d+) +loss ([\d.]+) +acc +([\d.]+)% +test loss ([\d.]+) +test acc +([\d.]+)%", re.M)
FINAL_LINE = re.compile(r"^test accuracy: ([\d.]+)% \((\d+)/(\d+)\)", re.M)


def read_png(path):
    from matplotlib import image

    return image.imread(str(path))


def test_short_digits_run_prints_metrics_and_writes_weights_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "digits", "--epochs", "3", "--batch-size", "128", "--out", str(out), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    epochs = EPOCH_LINE.findall(text)
    assert [(e[0], e[1]) for e in epochs] == [("1", "3"), ("2", "3"), ("3", "3")]
    losses = [float(e[2]) for e in epochs]
    assert losses[-1] < losses[0]
    final = FINAL_LINE.search(text)
    assert final is not None
    accuracy, correct, count = float(final.group(1)), int(final.group(2)), int(final.group(3))
    assert count == 359 and abs(100 * correct / count - accuracy) < 0.01
    assert accuracy == pytest.approx(float(epochs[-1][5]))
    assert (out / "history.csv").read_text().count("\n") == 4

    picture = read_png(out / "metrics.png")
    assert picture.ndim == 3 and picture.shape[0] > 100 and picture.shape[1] > 100
    assert picture.std() > 0  # not a blank canvas

    # The saved weights rebuild the same model: same predictions, same accuracy.
    model = train_command.build_model("digits", "mlp")
    model.load_state_dict(nn.load(out / "weights.npz"))
    args = argparse.Namespace(dataset="digits", model="mlp", test_size=0.2, seed=0, data=None)
    _, x_test, _, y_test = train_command._load(args)
    _, reloaded_correct = train_command.evaluate(model, x_test, y_test)
    assert reloaded_correct == correct


def test_progress_bars_go_to_stderr(tmp_path, capsys):
    pytest.importorskip("tqdm")
    assert main(["train", "digits", "--epochs", "2", "--batch-size", "256", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "epoch 1/2" in captured.err and "batch" in captured.err
    assert len(EPOCH_LINE.findall(captured.out)) == 2


def test_cnn_on_digits_trains(tmp_path, capsys):
    code = main(["train", "digits", "--model", "cnn", "--epochs", "1", "--batch-size", "64",
                 "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "Conv2d(1, 16, kernel_size=(3, 3)" in text
    accuracy = float(FINAL_LINE.search(text).group(1))
    assert accuracy > 50.0  # one epoch of a CNN is far better than chance (10%)
    state = nn.load(tmp_path / "weights.npz")
    assert state["1.weight"].shape == (16, 1, 3, 3)


def test_the_defaults_reach_97_percent_on_the_held_out_digits(tmp_path):
    # The acceptance criterion itself, run as a user would (about 3 s on 2 cores).
    result = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "train", "digits", "--out", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    final = FINAL_LINE.search(result.stdout)
    assert final is not None, result.stdout
    assert float(final.group(1)) >= 97.0, result.stdout
    assert len(EPOCH_LINE.findall(result.stdout)) == train_command.DEFAULTS[("digits", "mlp")]["epochs"]
    assert read_png(tmp_path / "metrics.png").shape[-1] in (3, 4)


def make_mnist(folder, n_train=200, n_test=50):
    """A learnable stand-in for MNIST: the class is the row of a bright 4-pixel-tall band."""
    folder.mkdir()
    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.integers(0, 40, size=(len(labels), 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            x[i, 2 + 2 * label : 6 + 2 * label, 4:24] = 250
        return x

    y_train, y_test = rng.integers(0, 10, n_train).astype(np.uint8), rng.integers(0, 10, n_test).astype(np.uint8)
    files = {"train_images": images(y_train), "train_labels": y_train, "test_images": images(y_test), "test_labels": y_test}
    for key, arr in files.items():
        data.write_idx(folder / (data.MNIST_FILES[key] + ".gz"), arr, compress=True)


def test_mnist_from_a_folder_of_idx_files(tmp_path, capsys):
    make_mnist(tmp_path / "mnist")
    code = main(["train", "mnist", "--data", str(tmp_path / "mnist"), "--epochs", "3", "--batch-size", "32",
                 "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "200 training / 50 test images" in text
    assert float(FINAL_LINE.search(text).group(1)) >= 90.0
    assert nn.load(tmp_path / "out" / "weights.npz")["2.weight"].shape == (256, 784)
    assert (tmp_path / "out" / "metrics.png").is_file()


def test_mnist_without_data_explains_what_to_provide(tmp_path, capsys):
    assert main(["train", "mnist", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "--data DIR" in err and "train-images-idx3-ubyte" in err and "t10k-labels-idx1-ubyte" in err
    assert main(["train", "mnist", "--data", str(tmp_path), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "missing train-images-idx3-ubyte" in err and str(tmp_path) in err


def test_bad_arguments_are_usage_errors(tmp_path, capsys):
    for argv in (["train", "digits", "--epochs", "0"], ["train", "digits", "--lr", "nan"],
                 ["train", "cifar"], ["train", "digits", "--model", "resnet"]):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert main(["train", "digits", "--test-size", "1.5", "--out", str(tmp_path)]) == 2
    assert main(["train", "digits", "--weight-decay", "-1", "--out", str(tmp_path)]) == 2
    assert main(["train", "digits", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "--data is for mnist" in capsys.readouterr().err
