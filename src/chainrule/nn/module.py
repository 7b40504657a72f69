"""Module: the base class of layers and models.

A module owns parameters, buffers (non-trainable state such as running means) and sub-modules,
all registered by plain attribute assignment and kept in registration order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from chainrule.core.modes import no_grad
from chainrule.core.tensor import Tensor
from chainrule.nn.parameter import Parameter

__all__ = ["Module", "IncompatibleKeys"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> nn.Linear(1, 1).load_state_dict({"weight": np.ones((1, 1))}, strict=False)
    IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def _as_array(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


class Module:
    """Base class of every layer and model: subclass it, assign layers and parameters in
    ``__init__`` and write ``forward``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter(cr.ones(2))
    ...         self.shift = nn.Parameter(cr.zeros(2))
    ...     def forward(self, x):
    ...         return x * self.scale + self.shift
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale', 'shift']
    >>> m(cr.tensor([1.0, 2.0]))
    tensor([1., 2.], dtype=float64, grad_fn=<AddBackward0>)
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    # ------------------------------------------------------------------ registration
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() is called: put "
                "`super().__init__()` first in your module's __init__"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._check_init("sub-modules")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter '{name}': "
                    "assign an nn.Parameter (or None)"
                )
            params[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to buffer '{name}': assign a Tensor "
                    "(or None)"
                )
            self._buffers[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to sub-module '{name}': assign a "
                    "Module (or None)"
                )
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and sub-modules live in tables.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or ``None``, a declared but absent parameter) under ``name``.

        >>> from chainrule import nn
        >>> m = nn.Module()
        >>> m.register_parameter("bias", None)
        >>> list(m.named_parameters())
        []
        """
        self._check_init("parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be an nn.Parameter or None, "
                f"not {type(param).__name__}"
            )
        self._check_name(name, "register_parameter")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register non-trainable state (saved in ``state_dict`` unless ``persistent=False``).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Module()
        >>> m.register_buffer("count", cr.zeros(1))
        >>> list(m.state_dict())
        ['count']
        """
        self._check_init("buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: '{name}' must be a Tensor or None, not {type(tensor).__name__}"
            )
        self._check_name(name, "register_buffer")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a sub-module called ``name``.

        >>> from chainrule import nn
        >>> m = nn.Module()
        >>> m.add_module("act", nn.ReLU())
        >>> m
        Module(
          (act): ReLU()
        )
        """
        self._check_init("sub-modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module or None, not {type(module).__name__}")
        self._check_name(name, "add_module")
        self._forget(name)
        self._modules[name] = module

    @staticmethod
    def _check_name(name: str, op: str) -> None:
        if not isinstance(name, str) or not name or "." in name or "/" in name:
            raise ValueError(f"{op}: the name must be a non-empty string without '.' or '/', got {name!r}")

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module (each once), with dotted names.

        >>> from chainrule import nn
        >>> [name for name, _ in nn.Sequential(nn.Linear(2, 2), nn.ReLU()).named_modules()]
        ['', '0', '1']
        """
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{key}" if name else key, child)
                        for key, child in module._modules.items() if child is not None]  # fmt: skip
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module.

        >>> from chainrule import nn
        >>> [type(m).__name__ for m in nn.Sequential(nn.Linear(1, 1), nn.ReLU()).modules()]
        ['Sequential', 'Linear', 'ReLU']
        """
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names.

        >>> from chainrule import nn
        >>> [name for name, _ in nn.Sequential(nn.ReLU(), nn.Tanh()).named_children()]
        ['0', '1']
        """
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules.

        >>> from chainrule import nn
        >>> len(list(nn.Sequential(nn.ReLU(), nn.Sequential(nn.Tanh())).children()))
        2
        """
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names, in registration order, each shared one once.

        >>> from chainrule import nn
        >>> [name for name, _ in nn.Linear(3, 2).named_parameters()]
        ['weight', 'bias']
        """
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in registration order (what an optimizer takes).

        >>> from chainrule import nn
        >>> sum(p.size for p in nn.Linear(3, 2).parameters())
        8
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers with dotted names.

        >>> from chainrule import nn
        >>> [name for name, _ in nn.BatchNorm1d(3).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
        """
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers.

        >>> from chainrule import nn
        >>> [b.shape for b in nn.BatchNorm1d(3).buffers()]
        [(3,), (3,), ()]
        """
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) here and below.

        >>> from chainrule import nn
        >>> m = nn.Dropout(0.5).eval()
        >>> m.training
        False
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode; the same as ``train(False)``.

        >>> from chainrule import nn
        >>> nn.Sequential(nn.Dropout()).eval()[0].training
        False
        """
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (set them to None, or to zeros).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> layer = nn.Linear(2, 1)
        >>> layer(cr.ones(1, 2)).sum().backward()
        >>> layer.zero_grad()
        >>> layer.weight.grad is None
        True
        """
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = Tensor(np.zeros_like(param._data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradient tracking of every parameter on or off (freezing a model).

        >>> from chainrule import nn
        >>> nn.Linear(2, 2).requires_grad_(False).weight.requires_grad
        False
        """
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on this module.

        >>> from chainrule import nn
        >>> seen = []
        >>> _ = nn.Sequential(nn.ReLU()).apply(lambda m: seen.append(type(m).__name__))
        >>> seen
        ['ReLU', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert floating-point parameters and buffers to ``dtype`` in place.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> nn.Linear(2, 2).to(np.float32).weight.dtype
        dtype('float32')
        """
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are supported, got {target}")
        with no_grad():
            for tensor in [*self.parameters(), *self.buffers()]:
                if tensor._data.dtype.kind == "f" and tensor._data.dtype != target:
                    tensor._data = tensor._data.astype(target)
                    tensor._version += 1
                    if tensor.grad is not None:
                        tensor.grad = Tensor(tensor.grad._data.astype(target))
        return self

    def float(self) -> Module:
        """Parameters and buffers as float32.

        >>> from chainrule import nn
        >>> nn.Linear(1, 1).float().bias.dtype
        dtype('float32')
        """
        return self.to(np.float32)

    def double(self) -> Module:
        """Parameters and buffers as float64.

        >>> from chainrule import nn
        >>> nn.Linear(1, 1).float().double().bias.dtype
        dtype('float64')
        """
        return self.to(np.float64)

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as tensors outside the graph
        that share memory with the module.

        >>> from chainrule import nn
        >>> list(nn.Linear(2, 3).state_dict())
        ['weight', 'bias']
        """
        out: OrderedDict[str, Tensor] = OrderedDict()
        for module_name, module in self.named_modules(prefix):
            for table, skip in ((module._parameters, ()), (module._buffers, module._non_persistent)):
                for name, value in table.items():
                    if value is None or name in skip:
                        continue
                    key = f"{module_name}.{name}" if module_name else name
                    out[key] = value.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Every entry is checked before anything is written, so a failed load leaves the module as
        it was. With ``strict`` (the default) missing and unexpected names are errors; shapes must
        always match, and a ``None`` value is an error that names its key (it is not an array).

        >>> from chainrule import nn
        >>> a, b = nn.Linear(2, 3), nn.Linear(2, 3)
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool((a.weight.numpy() == b.weight.numpy()).all())
        True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a mapping of names to arrays, got {type(state_dict).__name__}"
            )
        own = self.state_dict()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict and missing:
            problems.append("missing key(s) in the state dict: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected key(s) in the state dict: " + ", ".join(repr(k) for k in unexpected))
        updates = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            if state_dict[key] is None:
                problems.append(
                    f"the value for {key!r} is None: the state dict has no array for it. Give an array "
                    f"of shape {tuple(target.shape)}, or drop the key and pass strict=False to keep "
                    "the module's current value"
                )
                continue
            try:
                value = _as_array(state_dict[key])
            except Exception as exc:  # a value that is not an array at all
                problems.append(f"{key!r} is not an array ({type(exc).__name__}: {exc})")
                continue
            if value.shape != target.shape:
                problems.append(
                    f"size mismatch for {key!r}: the state dict has shape {value.shape}, "
                    f"the module's has shape {tuple(target.shape)}"
                )
            elif value.dtype.kind not in "fiub" or (
                target.dtype.kind != "f" and value.dtype.kind == "f"
            ):
                problems.append(
                    f"dtype mismatch for {key!r}: cannot load {value.dtype} values into a "
                    f"{target.dtype} tensor"
                )
            else:
                updates.append((key, value))
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        tensors = self._state_tensors()
        with no_grad():
            for key, value in updates:
                tensor = tensors[key]
                np.copyto(tensor._data, value, casting="unsafe")
                tensor._version += 1
        return IncompatibleKeys(missing, unexpected)

    def _state_tensors(self) -> dict[str, Tensor]:
        """The live tensors behind ``state_dict()`` (not detached copies)."""
        out: dict[str, Tensor] = {}
        for module_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        out[f"{module_name}.{name}" if module_name else name] = value
        return out

    # ------------------------------------------------------------------ calling and printing
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define forward(self, ...) in your Module subclass"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The settings shown inside this module's parentheses in its repr."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}("
        inner = ([extra] if extra else []) + lines
        return head + "\n  " + "\n  ".join(inner) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def num_parameters(self) -> int:
        """How many trainable numbers the module has.

        >>> from chainrule import nn
        >>> nn.Linear(64, 10).num_parameters()
        650
        """
        return int(sum(p.size for p in self.parameters()))
