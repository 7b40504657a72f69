"""Class labels are checked at every call of a jitted cross-entropy, not only at trace time.

Before, a jitted loss or training step checked the labels it was traced with; later calls with a
label of -1 wrapped round to the last class, and a label equal to the number of classes read (and
in the fused gradient wrote) the next row's entry: a silently wrong loss and gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _loss(z, y):
    return cr.cross_entropy(z, y)


FORMS = {
    "loss": lambda: cr.jit(_loss),
    "value_and_grad": lambda: cr.jit(cr.value_and_grad(_loss)),
    "grad": lambda: cr.jit(cr.grad(_loss)),
    "eager": lambda: _loss,
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("bad", [[0, 1, 3, 0], [0, -1, 2, 0], [7, 0, 0, 0]])
def test_out_of_range_labels_raise_at_every_call(form: str, bad: list[int]) -> None:
    z = cr.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    fn = FORMS[form]()
    good = fn(z, cr.tensor([0, 1, 2, 0]))  # traced (and cached) with valid labels
    with pytest.raises(IndexError, match=r"class index -?\d+ is out of range for 3 classes"):
        fn(z, cr.tensor(bad))
    again = fn(z, cr.tensor([0, 1, 2, 0]))
    np.testing.assert_array_equal(np.asarray(again[0] if isinstance(again, tuple) else again),
                                  np.asarray(good[0] if isinstance(good, tuple) else good))


def test_jitted_training_step_checks_each_batch() -> None:
    rng = np.random.default_rng(1)
    w = cr.tensor(rng.normal(size=(5, 4)))

    def step(w, x, y):
        loss, g = cr.value_and_grad(lambda w: cr.cross_entropy(cr.matmul(x, w), y))(w)
        return loss, w - 0.1 * g

    jstep = cr.jit(step)
    x = cr.tensor(rng.normal(size=(8, 5)))
    jstep(w, x, cr.tensor(rng.integers(0, 4, size=8)))
    with pytest.raises(IndexError, match="class index 4 is out of range for 4 classes"):
        jstep(w, x, cr.tensor(np.array([0, 1, 2, 3, 4, 0, 1, 2])))
