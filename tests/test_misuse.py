"""The misuse table (issue 7, part 5): what each common mistake raises, and what it says.

Every row is a mistake a user makes (wrong shapes, wrong dtypes, a non-scalar backward, a tape
used twice, an unknown argnums, mismatched pytrees, an in-place edit of a saved tensor, a state
file that does not fit, negative sizes, non-finite learning rates, class indices out of range...),
in the native API and in both dialects, with the exception type it must raise and the fragments
its message must contain: the op's name and what to do (or the rule the input broke). A second
test runs every row again and checks that no mistake ends in a bare ``AssertionError`` or in a
traceback whose last frame is inside NumPy.

Rows marked ``bug`` are mistakes the library handles badly today; the reason names the cause,
and the row's expectation is what the fix must deliver (xfail, strict: the fix makes it pass).
"""

from __future__ import annotations

import os
import re
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim

NUMPY_DIR = os.path.dirname(np.__file__) + os.sep


@dataclass(frozen=True)
class Misuse:
    name: str
    area: str  # "native", "tf" or "torch"
    action: Callable[[], Any]
    error: type[BaseException]
    says: tuple[str, ...]  # regular expressions the message must all match
    bug: str | None = None  # why the row fails today (xfail, strict)
    leaves_from_numpy: bool = False  # today's error leaves from a frame inside NumPy


# ---------------------------------------------------------------- actions of more than one line
def _leaf(*shape: int) -> cr.Tensor:
    return cr.tensor(np.ones(shape), requires_grad=True)


def _backward_twice() -> None:
    y = cr.sum(cr.sin(_leaf(3)))
    y.backward()
    y.backward()


def _grad_through_floor() -> None:
    x = _leaf(2)
    cr.autograd.grad(cr.sum(cr.floor(x)), [x])


def _tape_gradient_twice() -> None:
    v = cr.Variable([1.0, 2.0])
    with cr.GradientTape() as tape:
        y = cr.sum(v * v)
    tape.gradient(y, v)
    tape.gradient(y, v)


def _tape_reentered() -> None:
    tape = cr.GradientTape()
    with tape, tape:
        pass


def _tape_output_gradients_structure() -> None:
    v = cr.Variable([1.0, 2.0])
    with cr.GradientTape() as tape:
        y = v * 2.0
    tape.gradient([y], v, output_gradients=(cr.ones(2), cr.ones(2)))


def _edit_saved_tensor() -> None:
    x = _leaf(3)
    h = x * 2.0
    y = cr.sum(cr.sin(h))  # sin keeps h for its backward
    with cr.no_grad():
        h.mul_(2.0)
    y.backward()


def _load_mismatched_state_file() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = nn.save(nn.Linear(4, 3, generator=0), os.path.join(tmp, "linear"))
        nn.Linear(5, 3, generator=0).load_state_dict(nn.load(path))


def _load_damaged_state_file() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.npz")
        with open(path, "wb") as handle:
            handle.write(b"PK\x03\x04 not really a zip archive")
        nn.load(path)


def _load_mismatched_optimizer_state() -> None:
    model = nn.Linear(2, 2, generator=0)
    opt = optim.Adam(model.parameters())
    cr.sum(model(cr.ones(1, 2))).backward()
    opt.step()
    optim.Adam(nn.Linear(3, 2, generator=0).parameters()).load_state_dict(opt.state_dict())


def _learning_rate_set_to_nan_later() -> None:
    w = _leaf(2)
    opt = optim.SGD([w], lr=0.1)
    for group in opt.param_groups:  # a hand-written schedule gone wrong
        group["lr"] = float("nan")
    cr.sum(w * w).backward()
    opt.step()


def _backward_inputs_not_requiring_grad() -> None:
    a = cr.tensor(1.0, requires_grad=True)
    (a * 2).backward(inputs=[cr.tensor(2.0)])


def _ragged_samples_in_a_loader() -> None:
    list(data.DataLoader([np.ones(2), np.ones(3)], batch_size=2))


# dialects: imported inside the actions, so a dialect that fails to import fails its rows only
def _torch() -> Any:
    from chainrule import torch

    return torch


def _tf() -> Any:
    from chainrule import tf

    return tf


def _torch_backward_twice() -> None:
    torch = _torch()
    y = torch.ones(2, requires_grad=True).sin().sum()
    y.backward()
    y.backward()


def _torch_edit_saved_tensor() -> None:
    torch = _torch()
    x = torch.ones(3, requires_grad=True)
    h = x * 2
    y = h.sin().sum()
    with torch.no_grad():
        h.mul_(2)
    y.backward()


def _torch_load_mismatched_state() -> None:
    torch = _torch()
    torch.nn.Linear(5, 3).load_state_dict(torch.nn.Linear(4, 3).state_dict())


def _tf_gradient_twice() -> None:
    tf = _tf()
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
    tape.gradient(y, v)
    tape.gradient(y, v)


def _tf_dense_input_changes() -> None:
    tf = _tf()
    layer = tf.keras.layers.Dense(3)
    layer(tf.ones((2, 4)))  # builds a 4 -> 3 kernel
    layer(tf.ones((2, 5)))


def _tf_nan_learning_rate() -> None:
    tf = _tf()
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
    tf.keras.optimizers.SGD(learning_rate=float("nan")).apply_gradients([(tape.gradient(y, v), v)])


def _tf_gradient_of_wrong_shape() -> None:
    tf = _tf()
    v = tf.Variable([1.0, 2.0])
    tf.keras.optimizers.SGD(0.1).apply_gradients([(tf.ones(3), v)])


# ---------------------------------------------------------------- the reasons of the known bugs
BROADCAST_HINT = ("dispatch._op_error passes NumPy's broadcast message through; it names the op "
                  "and shapes but not what to do")  # fmt: skip
RAW_CONVERSION = "the argument is converted with int()/np.dtype() unguarded: Python's message, no op name"
#: The message must not tell the user to do what they already did.
NOT_BLAMING_THE_INPUTS = r"^(?![\s\S]*(?i:create the inputs|not computed from any input))"
OP_ERROR_REBUILD = ("dispatch._op_error rebuilds NumPy's exception by its type: numpy's private "
                    "_UFuncNoLoopError needs more arguments, so building it raises an unrelated TypeError")  # fmt: skip

X23 = np.ones((2, 3))

CASES: list[Misuse] = [
    # ------------------------------------------------------------ shapes
    Misuse("matmul inner dimensions", "native", lambda: cr.matmul(cr.ones(2, 3), cr.ones(2, 3)), ValueError,
           ("matmul", r"\(2, 3\) and \(2, 3\)", r"3 \(dim 1\) != 2 \(dim 0\)")),
    Misuse("matmul of a scalar", "native", lambda: cr.tensor(2.0) @ cr.ones(2), ValueError,
           ("matmul", r"use \* to multiply by a scalar")),
    Misuse("dot of different lengths", "native", lambda: cr.dot(cr.ones(3), cr.ones(4)), ValueError,
           ("dot", "not aligned")),
    Misuse("shapes that do not broadcast", "native", lambda: cr.ones(2, 3) + cr.ones(4), ValueError,
           ("add", r"\(2, 3\)", r"\(4,\)", r"reshape|expand_dims|None\]")),
    Misuse("reshape to another size", "native", lambda: cr.reshape(cr.ones(6), (4, 2)), ValueError,
           ("reshape", "6 elements", r"\(4, 2\) \(8 elements\)")),
    Misuse("reshape with two -1", "native", lambda: cr.ones(6).reshape(-1, -1), ValueError,
           ("reshape", "only one dimension can be -1")),
    Misuse("reshape to a string", "native", lambda: cr.reshape(cr.ones(6), "abc"), TypeError,
           ("reshape", "int")),
    Misuse("concatenate different widths", "native",
           lambda: cr.concatenate([cr.ones(2, 3), cr.ones(2, 4)], axis=0), ValueError,
           ("concatenate", "all dimensions except the concatenation axis must match")),
    Misuse("stack different shapes", "native", lambda: cr.stack([cr.ones(2), cr.ones(3)]), ValueError,
           ("stack", "must have the same shape")),
    Misuse("broadcast_to a smaller shape", "native", lambda: cr.broadcast_to(cr.ones(2, 3), (3, 3)), ValueError,
           ("broadcast_to", r"\(2, 3\) to \(3, 3\)")),
    Misuse("transpose with bad axes", "native", lambda: cr.transpose(cr.ones(2, 3), (0, 2)), ValueError,
           ("transpose", "not a permutation")),
    Misuse("einsum sizes disagree", "native",
           lambda: cr.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(2, 3)), ValueError, ("einsum", "dimension 'j'")),
    Misuse("reduce over a missing axis", "native", lambda: cr.sum(cr.ones(2, 3), axis=2), ValueError,
           ("sum", "axis 2 is out of range for a tensor with 2 dimensions")),
    Misuse("reduce over a float axis", "native", lambda: cr.sum(cr.ones(2, 3), axis=1.5), TypeError,
           ("sum", "axis")),
    Misuse("max of an empty tensor", "native", lambda: cr.max(cr.ones(0)), ValueError,
           ("max", "empty axis", "no identity")),
    Misuse("index out of range", "native", lambda: cr.ones(3)[5], IndexError,
           ("getitem", "out of bounds for axis 0 with size 3")),
    Misuse("item of a vector", "native", lambda: cr.ones(3).item(), ValueError,
           ("item", "only one-element tensors")),
    Misuse("Linear given the wrong width", "native", lambda: nn.Linear(4, 3, generator=0)(cr.ones(2, 5)),
           ValueError, ("Linear", "last dimension 4", r"\(2, 5\)")),
    Misuse("conv2d channels disagree", "native",
           lambda: cr.conv2d(cr.ones(1, 2, 5, 5), cr.ones(4, 3, 3, 3)), ValueError, ("conv2d", "weight expects 3")),
    Misuse("Variable assigned another shape", "native",
           lambda: cr.Variable([1.0, 2.0]).assign([1.0, 2.0, 3.0]), ValueError, ("Variable.assign", "does not fit")),
    Misuse("TensorDataset of different lengths", "native",
           lambda: data.TensorDataset(np.ones((4, 2)), np.ones(3)), ValueError,
           ("TensorDataset", "same first dimension")),
    Misuse("ragged nested lists", "native", lambda: cr.tensor([[1.0, 2.0], [3.0]]), ValueError,
           ("tensor", r"same length|ragged")),
    Misuse("ragged list as an operand", "native", lambda: cr.ones(2, 3) * [[1, 2], [3]], ValueError,
           ("mul", r"same length|ragged")),
    Misuse("ragged samples in a DataLoader", "native", _ragged_samples_in_a_loader, ValueError,
           ("DataLoader", r"\(2,\)", r"\(3,\)", "collate_fn")),
    # ------------------------------------------------------------ dtypes
    Misuse("string data", "native", lambda: cr.tensor(["a", "b"]), TypeError,
           ("tensor", "unsupported dtype", r"np\.asarray\(data, dtype=np\.float64\)")),
    Misuse("requires_grad on an int tensor", "native", lambda: cr.tensor([1, 2], requires_grad=True), TypeError,
           ("requires_grad", "only floating-point or complex tensors", r"astype\(np\.float64\)")),
    Misuse("cross_entropy of int logits", "native",
           lambda: cr.cross_entropy(cr.tensor([[1, 2]]), cr.tensor([0])), TypeError,
           ("cross_entropy", "float32 or float64", "astype")),
    Misuse("astype to an unknown dtype", "native", lambda: cr.ones(2).astype("foo"), TypeError,
           ("astype", "foo")),
    Misuse("integer to a negative integer power", "native", lambda: cr.tensor([1, 2]) ** -1, TypeError,
           ("pow", "float")),
    Misuse("adding a string", "native", lambda: cr.ones(2) + "a", TypeError, ("add", "<U1")),
    Misuse("an int parameter for an optimizer", "native", lambda: optim.SGD([cr.arange(3)], lr=0.1), TypeError,
           ("SGD", "must be floating point")),
    # ------------------------------------------------------------ autograd misuse
    Misuse("backward of a non-scalar", "native", lambda: (_leaf(3) * 2).backward(), RuntimeError,
           ("backward", "only for scalar outputs", r"gradient=|\.sum\(\)")),
    Misuse("backward gradient of the wrong shape", "native",
           lambda: (_leaf(2) * 2).backward(gradient=cr.ones(3)), ValueError, ("backward", "must match")),
    Misuse("backward twice", "native", _backward_twice, RuntimeError,
           ("SinBackward0", "second time", "retain_graph=True")),
    Misuse("backward of a constant", "native", lambda: cr.tensor(1.0).backward(), RuntimeError,
           ("backward", "does not require grad", "requires_grad=True")),
    Misuse("backward through floor", "native", lambda: cr.sum(cr.floor(_leaf(2))).backward(), RuntimeError,
           ("backward", "floor", "not differentiable", NOT_BLAMING_THE_INPUTS)),
    Misuse("autograd.grad through floor", "native",
           _grad_through_floor, RuntimeError,
           ("autograd.grad", "floor", "not differentiable", NOT_BLAMING_THE_INPUTS)),
    Misuse("backward inputs that do not require grad", "native", _backward_inputs_not_requiring_grad,
           RuntimeError, ("backward", "require grad")),
    Misuse("gradient twice on a non-persistent tape", "native", _tape_gradient_twice, RuntimeError,
           ("non-persistent GradientTape", r"persistent=True")),
    Misuse("entering a tape twice", "native", _tape_reentered, ValueError, ("GradientTape", "already recording")),
    Misuse("watching a number", "native", lambda: cr.GradientTape().watch([1.0]), TypeError,
           ("GradientTape.watch", r"chainrule\.constant")),
    Misuse("grad of an unused input", "native",
           lambda: cr.autograd.grad(cr.sum(_leaf(2) * 2), [_leaf(2)]), RuntimeError,
           ("autograd.grad", "not have been used", "allow_unused=True")),
    Misuse("grad of an input that does not require grad", "native",
           lambda: cr.autograd.grad(cr.sum(_leaf(2) * 2), [cr.ones(2)]), RuntimeError,
           ("autograd.grad", "requires_grad=True")),
    Misuse("in-place edit of a saved tensor", "native", _edit_saved_tensor, RuntimeError,
           ("SinBackward0", "modified by an in-place operation", r"\.clone\(\)")),
    Misuse("in-place edit of a leaf", "native", lambda: _leaf(2).add_(1.0), RuntimeError,
           ("add_", "leaf tensor that requires grad", "no_grad")),
    Misuse("item assignment into a leaf", "native", lambda: _leaf(3).__setitem__(0, 1.0), RuntimeError,
           ("__setitem__", "requires grad", "no_grad")),
    # ------------------------------------------------------------ transforms and pytrees
    Misuse("unknown argnums", "native",
           lambda: cr.grad(lambda a, b: cr.sum(a * b), argnums=2)(cr.ones(2), cr.ones(2)), ValueError,
           ("grad", "argnums 2", "2 positional argument")),
    Misuse("unknown argnums of jacrev", "native", lambda: cr.jacrev(lambda a: a * 2, argnums=1)(cr.ones(3)),
           ValueError, ("jacrev", "argnums 1")),
    Misuse("grad of a non-scalar", "native", lambda: cr.grad(lambda a: a * 2)(cr.ones(3)), TypeError,
           ("grad", r"must return a scalar", r"\.sum\(\)", "jacrev")),
    Misuse("grad of a function returning a pair", "native",
           lambda: cr.grad(lambda a: (cr.sum(a), a))(cr.ones(2)), TypeError, ("grad", "has_aux")),
    Misuse("grad of something not callable", "native", lambda: cr.grad(None)(cr.ones(2)), TypeError,
           ("grad", "callable")),
    Misuse("jvp tangents of another structure", "native",
           lambda: cr.jvp(lambda a: a * 2, (cr.ones(2),), (cr.ones(2), cr.ones(2))), ValueError,
           ("jvp", "same structure")),
    Misuse("jvp tangent of another shape", "native",
           lambda: cr.jvp(lambda a: a * 2, (cr.ones(2),), (cr.ones(3),)), ValueError, ("jvp", "must match")),
    Misuse("vjp cotangents of another structure", "native",
           lambda: cr.vjp(lambda a: (a * 2, a), cr.ones(2))[1](cr.ones(2)), ValueError,
           ("vjp", "one cotangent per output")),
    Misuse("output_gradients of another structure", "native", _tape_output_gradients_structure, ValueError,
           ("GradientTape.gradient", "output_gradients has structure")),
    Misuse("vmap batch sizes disagree", "native",
           lambda: cr.vmap(lambda a, b: a * b)(cr.ones(3, 2), cr.ones(4, 2)), ValueError,
           ("vmap", "batch size: 3 and 4")),
    Misuse("vmap in_axes of another length", "native",
           lambda: cr.vmap(lambda a: a, in_axes=(0, 1))(cr.ones(3)), ValueError, ("vmap", "one entry per argument")),
    # ------------------------------------------------------------ sizes, settings, indices
    Misuse("negative size", "native", lambda: cr.zeros(-1), ValueError, ("zeros", "sizes must be >= 0")),
    Misuse("negative size of a random tensor", "native", lambda: cr.random.normal(size=(2, -1)), ValueError,
           ("random", "negative dimension")),
    Misuse("float size of eye", "native", lambda: cr.eye(2.5), TypeError, ("eye", "integer")),
    Misuse("negative layer width", "native", lambda: nn.Linear(-1, 3), ValueError, ("Linear", "positive integer")),
    Misuse("NaN learning rate", "native", lambda: optim.SGD([_leaf(2)], lr=float("nan")), ValueError,
           ("SGD", "invalid learning rate nan", "finite number >= 0")),
    Misuse("infinite learning rate", "native", lambda: optim.Adam([_leaf(2)], lr=float("inf")), ValueError,
           ("Adam", "invalid learning rate inf", "finite number >= 0")),
    Misuse("learning rate set to NaN later", "native", _learning_rate_set_to_nan_later, ValueError,
           ("SGD", "learning rate")),
    Misuse("beta out of range", "native", lambda: optim.Adam([_leaf(2)], betas=(0.9, 1.5)), ValueError,
           ("Adam", "beta2", r"\[0\.0, 1\.0\)")),
    Misuse("empty parameter list", "native", lambda: optim.SGD([], lr=0.1), ValueError, ("SGD", "empty parameter list")),
    Misuse("class index out of range", "native", lambda: cr.cross_entropy(cr.ones(2, 3), cr.tensor([0, 5])),
           IndexError, ("cross_entropy", "class index 5", r"must be in \[0, 2\]")),
    Misuse("negative class index in a loss module", "native",
           lambda: nn.CrossEntropyLoss()(cr.ones(2, 3), cr.tensor([0, -1])), IndexError,
           ("cross_entropy", "class index -1", r"must be in \[0, 2\]")),
    Misuse("class target of the wrong shape", "native",
           lambda: cr.cross_entropy(cr.ones(2, 3), cr.tensor([0, 1, 2])), ValueError,
           ("cross_entropy", r"need a target of shape \(2,\)")),
    Misuse("one_hot index out of range", "native", lambda: cr.one_hot(cr.tensor([0, 4]), 3), IndexError,
           ("one_hot", r"must be in \[0, 2\]")),
    Misuse("batch size zero", "native", lambda: data.DataLoader(data.TensorDataset(X23), batch_size=0), ValueError,
           ("DataLoader", "positive integer")),
    Misuse("dropout probability above 1", "native", lambda: cr.dropout(cr.ones(3), p=1.5), ValueError,
           ("dropout", r"probability in \[0, 1\]")),
    # ------------------------------------------------------------ state files
    Misuse("loading a state file of another model", "native", _load_mismatched_state_file, RuntimeError,
           ("Linear", "size mismatch for 'weight'", r"state dict has shape \(3, 4\)")),
    Misuse("loading a state dict with missing keys", "native",
           lambda: nn.Linear(4, 3, generator=0).load_state_dict({"weight": np.zeros((3, 4))}), RuntimeError,
           ("Linear", "missing key", "'bias'")),
    Misuse("loading a damaged state file", "native", _load_damaged_state_file, nn.StateFileError,
           ("cannot load", "not a valid chainrule .npz state file")),
    Misuse("loading optimizer state of another model", "native", _load_mismatched_optimizer_state, ValueError,
           ("Adam.load_state_dict", "exp_avg", "has shape")),
    # ------------------------------------------------------------ chainrule.torch
    Misuse("torch.matmul inner dimensions", "torch",
           lambda: _torch().matmul(_torch().ones(2, 3), _torch().ones(2, 3)), RuntimeError,
           ("matmul", r"\(2, 3\) and \(2, 3\)", r"3 \(dim 1\) != 2 \(dim 0\)")),
    Misuse("torch shapes that do not broadcast", "torch", lambda: _torch().ones(2, 3) + _torch().ones(4),
           RuntimeError, ("add", r"\(2, 3\)", r"\(4,\)", r"reshape|expand_dims|None\]")),
    Misuse("torch view to another size", "torch", lambda: _torch().ones(6).view(4, 2), RuntimeError,
           ("reshape", r"\(4, 2\) \(8 elements\)")),
    Misuse("torch negative size", "torch", lambda: _torch().zeros(-1), RuntimeError, ("negative dimension -1",)),
    Misuse("torch requires_grad on an int tensor", "torch",
           lambda: _torch().tensor([1, 2], requires_grad=True), RuntimeError,
           ("Only Tensors of floating point", "can require gradients")),
    Misuse("torch backward of a non-scalar", "torch",
           lambda: (_torch().ones(3, requires_grad=True) * 2).backward(), RuntimeError,
           ("grad can be implicitly created only for scalar outputs", r"gradient=")),
    Misuse("torch backward twice", "torch", _torch_backward_twice, RuntimeError,
           ("backward through the graph a second time", "retain_graph=True")),
    Misuse("torch autograd.grad of an unused input", "torch",
           lambda: _torch().autograd.grad((_torch().ones(2, requires_grad=True) * 2).sum(),
                                          [_torch().ones(2, requires_grad=True)]),
           RuntimeError, ("appears to not have been used in the graph", "allow_unused=True")),
    Misuse("torch in-place edit of a saved tensor", "torch", _torch_edit_saved_tensor, RuntimeError,
           ("modified by an in-place operation", r"\.clone\(\)")),
    Misuse("torch NaN learning rate", "torch",
           lambda: _torch().optim.SGD([_torch().ones(2, requires_grad=True)], lr=float("nan")), ValueError,
           ("SGD", "invalid learning rate nan")),
    Misuse("torch loading another model's state", "torch", _torch_load_mismatched_state, RuntimeError,
           ("size mismatch for 'weight'",)),
    Misuse("torch class index out of range", "torch",
           lambda: _torch().nn.functional.cross_entropy(_torch().ones(2, 3), _torch().tensor([0, 3])), IndexError,
           ("cross_entropy", "class index 3", r"must be in \[0, 2\]")),
    # ------------------------------------------------------------ chainrule.tf
    Misuse("tf.matmul inner dimensions", "tf", lambda: _tf().matmul(_tf().ones((2, 3)), _tf().ones((2, 3))),
           ValueError, ("matmul", r"3 \(dim 1\) != 2 \(dim 0\)")),
    Misuse("tf.reshape to another size", "tf", lambda: _tf().reshape(_tf().ones((6,)), (4, 2)), ValueError,
           ("reshape", "8 elements")),
    Misuse("tf float32 plus float64", "tf",
           lambda: _tf().constant([1.0], dtype=_tf().float32) + _tf().constant([1.0], dtype=_tf().float64),
           TypeError, ("float32", "float64", r"tf\.cast")),
    Misuse("tf gradient twice on a non-persistent tape", "tf", _tf_gradient_twice, RuntimeError,
           ("non-persistent GradientTape",)),
    Misuse("tf watching a string", "tf", lambda: _tf().GradientTape().watch("x"), TypeError,
           ("GradientTape.watch", "expected a tensor or Variable")),
    Misuse("tf Variable assigned another shape", "tf", lambda: _tf().Variable([1.0, 2.0]).assign([1.0, 2.0, 3.0]),
           ValueError, ("assign", "does not fit")),
    Misuse("tf Dense given another width", "tf", _tf_dense_input_changes, ValueError,
           ('layer "dense', "expected axis -1 of input shape to have value 4")),
    Misuse("tf NaN learning rate", "tf", _tf_nan_learning_rate, ValueError, ("SGD", "invalid learning rate nan")),
    Misuse("tf gradient of the wrong shape", "tf", _tf_gradient_of_wrong_shape, ValueError,
           ("SGD", r"gradient of shape \(3,\) for a parameter of shape \(2,\)")),
    Misuse("tf labels and logits of different shapes", "tf",
           lambda: _tf().nn.softmax_cross_entropy_with_logits(labels=_tf().ones((2, 4)), logits=_tf().ones((2, 3))),
           ValueError, ("softmax_cross_entropy_with_logits", "must match")),
    Misuse("tf sparse label out of range", "tf",
           lambda: _tf().nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 5], logits=_tf().ones((2, 3))),
           IndexError, ("cross_entropy", "class index 5")),
]  # fmt: skip


def _marked(case: Misuse, frame_check: bool = False) -> Any:
    failing = case.bug is not None and (not frame_check or case.leaves_from_numpy)
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if failing else []
    return pytest.param(case, id=f"{case.area}: {case.name}", marks=marks)


def _raised(action: Callable[[], Any]) -> BaseException | None:
    try:
        with np.errstate(all="ignore"):
            action()
    except BaseException as error:  # noqa: BLE001 - the test inspects whatever was raised
        return error
    return None


@pytest.mark.parametrize("case", [_marked(c) for c in CASES])
def test_misuse_raises_the_expected_error_and_says_what_to_do(case: Misuse) -> None:
    error = _raised(case.action)
    assert error is not None, f"{case.name}: nothing was raised"
    assert isinstance(error, case.error), f"{case.name}: raised {type(error).__name__}: {error}"
    message = str(error)
    missing = [pattern for pattern in case.says if not re.search(pattern, message)]
    assert not missing, f"{case.name}: the message lacks {missing}:\n{message}"


@pytest.mark.parametrize("case", [_marked(c, frame_check=True) for c in CASES])
def test_no_misuse_ends_in_a_bare_assertion_or_inside_numpy(case: Misuse) -> None:
    error = _raised(case.action)
    if error is None:
        return  # nothing raised: the first test reports it
    assert type(error) is not AssertionError, f"{case.name}: a bare AssertionError: {error}"
    assert str(error).strip(), f"{case.name}: {type(error).__name__} without a message"
    last = traceback.extract_tb(error.__traceback__)[-1]
    assert not last.filename.startswith(NUMPY_DIR), (
        f"{case.name}: the traceback ends inside NumPy ({last.filename}:{last.lineno}): {error}"
    )


def test_the_table_covers_the_api_and_both_dialects() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES), "row names must be unique"
    areas = {area: sum(c.area == area for c in CASES) for area in ("native", "torch", "tf")}
    assert all(count >= 5 for count in areas.values()), areas
    # Every kind of mistake the issue names has rows.
    names = " ".join(c.name for c in CASES).lower()
    for topic in ("matmul", "broadcast", "reshape", "concatenate", "dtype|int|string", "non-scalar",
                  "twice", "argnums", "structure", "in-place", "state", "negative", "learning rate",
                  "class index"):  # fmt: skip
        assert re.search(topic, names), f"no misuse row about {topic}"
