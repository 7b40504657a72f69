"""Saving and loading state as .npz: exact round trips, clear errors, no code ever executed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def model(seed=0, dtype=np.float64):
    return nn.Sequential(
        nn.Linear(4, 6, generator=seed), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3, generator=seed + 1)
    ).to(dtype)


def trained(dtype=np.float64):
    m = model(dtype=dtype)
    opt = optim.Adam(m.parameters(), lr=0.05)
    x = cr.tensor(np.random.default_rng(0).normal(size=(8, 4)).astype(dtype))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), cr.tensor(np.arange(8) % 3)).backward()
        opt.step()
    return m, opt, x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_then_load_round_trips_exactly(tmp_path, dtype):
    m, _, x = trained(dtype)
    path = nn.save(m, tmp_path / "weights")
    assert path == tmp_path / "weights.npz" and path.is_file()
    state = nn.load(path)
    assert list(state) == list(m.state_dict())
    for key, value in m.state_dict().items():
        assert state[key].dtype == value.dtype
        np.testing.assert_array_equal(state[key], value.numpy())
    fresh = model(seed=5, dtype=dtype)
    fresh.load_state_dict(state)
    m.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), m(x).numpy())
    assert int(fresh[1].num_batches_tracked) == 3


def test_nested_checkpoints_hold_model_optimizer_and_extras(tmp_path):
    m, opt, _ = trained()
    path = nn.save({"model": m, "optimizer": opt, "epoch": 7, "name": np.array("mlp")}, tmp_path / "ckpt.npz")
    state = nn.load(path)
    assert set(state) == {"model", "optimizer", "epoch", "name"}
    assert int(state["epoch"]) == 7 and str(state["name"]) == "mlp"
    assert set(state["optimizer"]) == {"state", "param_groups"}
    np.testing.assert_array_equal(state["optimizer"]["state"]["0"]["exp_avg"], opt.state_for(m[0].weight)["exp_avg"])


def test_saving_is_atomic_and_refuses_objects(tmp_path):
    target = tmp_path / "w.npz"
    nn.save({"a": np.ones(2)}, target)
    with pytest.raises(TypeError, match="pickle"):
        nn.save({"a": np.array([object()])}, target)
    np.testing.assert_array_equal(nn.load(target)["a"], np.ones(2))  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temporary left behind
    with pytest.raises(ValueError, match="invalid key"):
        nn.save({"a/b": np.ones(1)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="expected a Module"):
        nn.save(np.ones(2), tmp_path / "y.npz")


def test_a_flipped_byte_is_reported_as_damage(tmp_path):
    m, _, _ = trained()
    path = nn.save(m, tmp_path / "w.npz")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("0.weight.npy")
    # Flip a byte inside the stored array data (past the local header and the .npy header).
    position = info.header_offset + 30 + len(info.filename) + 128 + 8
    raw[position] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(nn.StateFileError, match=r"w\.npz.*damaged"):
        nn.load(path)


def test_truncated_and_foreign_files_fail_clearly(tmp_path):
    m, _, _ = trained()
    path = nn.save(m, tmp_path / "w.npz")
    raw = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(nn.StateFileError, match=r"cut\.npz: not a valid chainrule \.npz state file"):
        nn.load(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("these are not weights")
    with pytest.raises(nn.StateFileError, match="not an .npz archive"):
        nn.load(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(nn.StateFileError, match="single .npy array"):
        nn.load(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError, match="no such file"):
        nn.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", __chainrule__=np.array("someone-else-9"), w=np.ones(1))
    with pytest.raises(nn.StateFileError, match="unknown format marker"):
        nn.load(tmp_path / "other.npz")


class _Payload:
    """Unpickling this would create a file: the test checks that it never happens."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "code-ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    np.savez(tmp_path / "evil.npz", **{"0.weight": evil})  # NumPy pickles object arrays on save
    with pytest.raises(nn.StateFileError, match="pickled Python objects"):
        nn.load(tmp_path / "evil.npz")
    assert not marker.exists()


def _rewrite(path, **changes):
    state = dict(np.load(path, allow_pickle=False))
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    np.savez(path, **state)


def test_mis_shaped_or_missing_parameters_are_named_on_load(tmp_path):
    m, _, _ = trained()
    path = nn.save(m, tmp_path / "w.npz")
    _rewrite(path, **{"3.weight": np.zeros((2, 6))})
    target = model(seed=9)
    before = {k: v.numpy().copy() for k, v in target.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"size mismatch for '3\.weight'.*\(2, 6\).*\(3, 6\)"):
        target.load_state_dict(nn.load(path))
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])  # nothing was half-loaded
    path = nn.save(m, tmp_path / "w2.npz")
    _rewrite(path, **{"1.running_var": None})
    with pytest.raises(RuntimeError, match=r"missing key\(s\).*'1\.running_var'"):
        target.load_state_dict(nn.load(path))
    path = nn.save(m, tmp_path / "w3.npz")
    _rewrite(path, **{"0.weight": np.array(["a", "b"])})
    with pytest.raises(RuntimeError, match=r"'0\.weight'"):
        target.load_state_dict(nn.load(path))
