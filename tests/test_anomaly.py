"""Anomaly mode: NaN/Inf in a forward or backward value is reported at once, with the op, the
shapes and the user's line; it is off by default and thread-local."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.modes import state


def test_forward_nan_names_op_shapes_and_line() -> None:
    x = cr.tensor([-1.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        cr.log(x)  # the line reported
    message = str(info.value)
    assert "'log'" in message and "(2,)" in message
    assert "test_anomaly.py" in message


def test_backward_inf_names_node_and_recording_line() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = cr.sqrt(x).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(FloatingPointError, match=r"SqrtBackward0.*shape \(2,\).*test_anomaly\.py"):
            with np.errstate(divide="ignore"):
                y.backward()


def test_decorator_form() -> None:
    @cr.autograd.detect_anomaly()
    def f(t):
        return cr.log(t)

    with pytest.raises(FloatingPointError):
        f(cr.tensor(-1.0))
    assert not cr.autograd.is_anomaly_enabled()


def test_off_by_default_nan_passes_silently() -> None:
    assert not cr.autograd.is_anomaly_enabled()
    assert not state.busy
    with np.errstate(invalid="ignore"):
        y = cr.log(cr.tensor(-1.0))
    assert np.isnan(y.item())


def test_nan_from_nan_input_is_not_blamed_on_the_op() -> None:
    with cr.autograd.detect_anomaly():
        y = cr.exp(cr.tensor(np.nan))
    assert np.isnan(y.item())


def test_anomaly_mode_is_thread_local() -> None:
    seen = {}

    def other() -> None:
        seen["on"] = cr.autograd.is_anomaly_enabled()

    with cr.autograd.detect_anomaly():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen["on"] is False


def test_results_unchanged_with_anomaly_mode_on() -> None:
    def run():
        x = cr.tensor([0.3, 0.7], requires_grad=True)
        (cr.sin(x) * cr.exp(x)).sum().backward()
        return x.grad.numpy()

    plain = run()
    with cr.autograd.detect_anomaly():
        checked = run()
    np.testing.assert_array_equal(plain, checked)
