"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, state_dict.

An optimizer updates each parameter's array in place, with NumPy, under ``no_grad``: the update
is never recorded, a parameter stays a leaf with ``grad_fn`` None, and its version counter goes
up by one per step (so a graph that saved the old value notices the change).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule.core.modes import enable_grad, no_grad
from chainrule.core.tensor import Tensor
from chainrule.transforms.jit import host_update

__all__ = ["Optimizer", "ParamState", "check_lr", "check_range"]


def check_lr(lr: Any, where: str) -> float:
    """``lr`` as a float, or ValueError when it is not a finite number >= 0.

    >>> from chainrule.optim.optimizer import check_lr
    >>> check_lr("0.1", "SGD")
    0.1
    >>> check_lr(float("nan"), "SGD")
    Traceback (most recent call last):
    ...
    ValueError: SGD: invalid learning rate nan; it must be a finite number >= 0
    """
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: lr must be a number, got {type(lr).__name__}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: invalid learning rate {lr!r}; it must be a finite number >= 0")
    return value


def check_range(value: Any, name: str, where: str, low: float = 0.0, high: float = math.inf,
                high_open: bool = False) -> float:  # fmt: skip
    """``value`` as a float in [low, high] (or [low, high)); ValueError otherwise.

    >>> from chainrule.optim.optimizer import check_range
    >>> check_range(0.9, "beta1", "Adam", 0.0, 1.0, high_open=True)
    0.9
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}") from None
    inside = low <= number < high if high_open else low <= number <= high
    if not math.isfinite(number) or not inside:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{where}: invalid {name} {value!r}; it must lie in [{low}, {high}{bracket}")
    return number


def _to_python(value: Any) -> Any:
    """A hyperparameter read back from a file: 0-d arrays become numbers, 1-d ones tuples."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        return tuple(v.item() for v in value)
    if isinstance(value, list):
        return tuple(value)
    return value


class ParamState(dict):
    """Per-parameter state keyed by ``id(param)``; indexing with the parameter itself works too
    (tensors compare elementwise, so they cannot be dictionary keys on their own).

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.ones(1, requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.sum().backward()
    >>> opt.step()
    >>> opt.state[w]["momentum_buffer"], w in opt.state
    (array([1.]), True)
    """

    @staticmethod
    def _key(key: Any) -> Any:
        return id(key) if isinstance(key, Tensor) else key

    def __getitem__(self, key: Any) -> dict[str, Any]:
        return super().__getitem__(self._key(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)


class Optimizer:
    """Base class: subclasses define ``_update(param, grad, state, group)`` on NumPy arrays.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ...}`` that give
    each group its own settings.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8, 1.6], dtype=float64, requires_grad=True)
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._state: ParamState = ParamState()
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (e.g. "
                "model.parameters() or [w, b]), not a single tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups and state
    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own settings (missing ones from the defaults).

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
        >>> opt.add_param_group({"params": [cr.zeros(2, requires_grad=True)], "lr": 0.01})
        >>> [group["lr"] for group in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: parameter {index} is a {type(p).__name__}, not a Tensor"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__}: parameter {index} is not a leaf tensor (it has a "
                    "grad_fn); optimize leaf tensors such as nn.Parameter or cr.tensor(..., requires_grad=True)"
                )
            if p.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}: parameter {index} has dtype {p.dtype}; it must be floating point")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {index} appears in more than one group")
            seen.add(id(p))
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}, "params": params}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"], type(self).__name__)

    @property
    def state(self) -> ParamState:
        """Per-parameter state (moment estimates, step counts): ``opt.state[param]``."""
        return self._state

    def state_for(self, param: Tensor) -> dict[str, Any]:
        """The state dict of one parameter (empty before its first step).

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.ones(2, requires_grad=True)
        >>> opt = optim.Adam([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> sorted(opt.state_for(w))
        ['exp_avg', 'exp_avg_sq', 'step']
        """
        return self._state.setdefault(id(param), {})

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (set it to None, or to zeros).

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.ones(2, requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1)
        >>> w.sum().backward()
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        """
        for p in self._params():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p._data))

    # ------------------------------------------------------------------ stepping
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` (optional) recomputes the loss.

        Returns the closure's loss, or None.

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([3.0], requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.5)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (w * w).sum()
        ...     loss.backward()
        ...     return loss
        >>> float(opt.step(closure)), w.tolist()
        (9.0, [0.0])
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            todo: list[tuple[Any, dict[str, Any]]] = []
            grads: list[Any] = []
            for group in self.param_groups:
                lr = group["lr"]
                if not (type(lr) is float and math.isfinite(lr) and lr >= 0):
                    group["lr"] = check_lr(lr, f"{type(self).__name__}.step")
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    if grad._data.shape != p._data.shape:
                        raise ValueError(
                            f"{type(self).__name__}.step: a gradient of shape {grad._data.shape} "
                            f"for a parameter of shape {p._data.shape}"
                        )
                    todo.append((p, group))
                    grads.append(grad)
            if grads:
                # Inside cr.jit (tf.function, torch.compile) the update runs at every call of
                # the compiled function, on that call's gradients.
                host_update(functools.partial(self._apply, todo), *grads)
        return loss

    def _apply(self, todo: list[tuple[Any, dict[str, Any]]], *grads: np.ndarray) -> None:
        for (p, group), g in zip(todo, grads):
            if g.dtype != p._data.dtype:
                g = g.astype(p._data.dtype)
            self._update(p._data, g, self._state.setdefault(id(p), {}), group)
            p._version += 1

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """Settings and per-parameter state, parameters named by their position (0, 1, ...).

        The arrays are copies; the result can be passed to ``chainrule.nn.save``.

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        >>> opt.state_dict()["param_groups"][0]["params"]
        [0]
        """
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {}
        for p in self._params():
            entry = self._state.get(id(p))
            if entry:
                state[index[id(p)]] = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in entry.items()}
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore settings and state saved by :meth:`state_dict` (possibly through a file).

        Checks that the groups and parameter counts match and that every saved array has its
        parameter's shape before changing anything.

        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> a = optim.Adam([cr.zeros(1, requires_grad=True)], lr=0.5)
        >>> b = optim.Adam([cr.zeros(1, requires_grad=True)], lr=0.1)
        >>> b.load_state_dict(a.state_dict())
        >>> b.param_groups[0]["lr"]
        0.5
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'param_groups' (and 'state')")
        saved_groups = state_dict["param_groups"]
        if isinstance(saved_groups, Mapping):  # read back from a file: keys are "0", "1", ...
            saved_groups = [saved_groups[k] for k in sorted(saved_groups, key=int)]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter group(s), "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = self._params()
        new_groups = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = np.atleast_1d(np.asarray(saved.get("params", []))).astype(np.int64).tolist()
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {gi} has {len(ids)} parameter(s) in the saved "
                    f"state and {len(group['params'])} here"
                )
            settings = {k: _to_python(v) for k, v in saved.items() if k != "params"}
            missing = [k for k in group if k != "params" and k not in settings]
            if missing:
                raise ValueError(f"{name}.load_state_dict: group {gi} lacks setting(s) {missing}")
            merged = {**group, **settings, "params": group["params"]}
            self._validate(merged)
            new_groups.append(merged)
        raw_state = state_dict.get("state", {}) or {}
        new_state = ParamState()
        for key, entry in raw_state.items():
            try:
                position = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}.load_state_dict: state key {key!r} is not a parameter index") from None
            if not 0 <= position < len(params):
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter {position}, but there are only "
                    f"{len(params)} parameter(s)"
                )
            p = params[position]
            restored = {}
            for field, value in entry.items():
                if field == "step":
                    restored[field] = int(np.asarray(value))
                    continue
                array = np.asarray(value)
                if array.shape != p.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: {field!r} of parameter {position} has shape "
                        f"{array.shape}, the parameter has shape {tuple(p.shape)}"
                    )
                restored[field] = np.array(array, dtype=p.dtype)
            new_state[id(p)] = restored
        self.param_groups = new_groups
        self._state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
