"""``tf.keras.optimizers``: SGD and Adam with ``apply_gradients(zip(grads, variables))``.

Each runs the native ``chainrule.optim`` optimizer of the same name on the variables: the
gradients are handed over as the variables' ``.grad`` for one ``step()``.

>>> from chainrule import tf
>>> w = tf.Variable([1.0, 2.0])
>>> opt = tf.keras.optimizers.SGD(learning_rate=0.1)
>>> with tf.GradientTape() as tape:
...     loss = tf.reduce_sum(w * w)
>>> opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
>>> w.numpy()
array([0.8, 1.6], dtype=float32)
"""

from __future__ import annotations

import warnings
from typing import Any

import chainrule.optim
from chainrule.tf._tensor import Variable, to_tensor

__all__ = ["Optimizer", "SGD", "Adam", "get"]


class Optimizer:
    """Base class: subclasses say which native optimizer to run and with which settings."""

    _native_class: Any = None

    def __init__(self, learning_rate: float = 0.001, name: str | None = None, **kwargs: Any) -> None:
        if "lr" in kwargs:
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", UserWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        unknown = sorted(set(kwargs) - {"clipnorm", "clipvalue", "global_clipnorm", "decay", "jit_compile"})
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {unknown}")
        self.name = type(self).__name__ if name is None else name
        self._learning_rate = float(learning_rate)
        self._native: Any = None
        self._known: set[int] = set()
        # A variable, as in Keras: inside a tf.function its increment is a state write, replayed
        # at every call (a Python int counted traces, not steps).
        self.iterations = Variable(0, dtype="int64", trainable=False, name="iteration")

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = float(value)
        if self._native is not None:
            for group in self._native.param_groups:
                group["lr"] = self._learning_rate

    lr = learning_rate

    def _native_settings(self) -> dict[str, Any]:
        return {}

    def _track(self, variables: list[Variable]) -> None:
        new = [v for v in variables if id(v) not in self._known]
        if not new:
            return
        if self._native is None:
            self._native = self._native_class(new, lr=self._learning_rate, **self._native_settings())
        else:
            self._native.add_param_group({"params": new})
        self._known.update(id(v) for v in new)

    def apply_gradients(self, grads_and_vars: Any, name: Any = None, **kwargs: Any) -> None:
        """Update each variable with its gradient; pairs whose gradient is None are skipped
        (with a warning, as in Keras)."""
        pairs = list(grads_and_vars)
        missing = [v for g, v in pairs if g is None]
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError(f"No gradients provided for any variable: {[getattr(v, 'name', v) for v in missing]}.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {[getattr(v, 'name', v) for v in missing]} when "
                "minimizing the loss.", UserWarning, stacklevel=2,
            )  # fmt: skip
        for _, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(f"{self.name}.apply_gradients: {v!r} is not a tf.Variable")
        variables = [v for _, v in pairs]
        self._track(variables)
        try:
            for g, v in pairs:
                v.grad = to_tensor(g)
            self._native.step()
        finally:
            for v in variables:
                v.grad = None
        self.iterations.assign_add(1)

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> None:
        """Compute the gradients of ``loss`` (a tensor recorded by ``tape``, or a function of no
        arguments) with respect to ``var_list`` and apply them."""
        from chainrule.tf._tape import GradientTape

        variables = list(var_list() if callable(var_list) else var_list)
        if callable(loss):
            with GradientTape() as tape:
                value = loss()
        elif tape is None:
            raise ValueError("minimize: pass `tape` when `loss` is a tensor (or pass loss as a function)")
        else:
            value = loss
        self.apply_gradients(zip(tape.gradient(value, variables), variables))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self._learning_rate}


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum. Keras's default learning rate: 0.01.

    The deprecated ``lr=`` is accepted with a warning.

    >>> import warnings
    >>> from chainrule import tf
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     opt = tf.keras.optimizers.SGD(lr=0.001)
    >>> opt.learning_rate, str(caught[0].message)
    (0.001, 'The `lr` argument is deprecated, use `learning_rate` instead.')
    """

    _native_class = chainrule.optim.SGD

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 name: str = "SGD", **kwargs: Any) -> None:  # fmt: skip
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _native_settings(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Keras's defaults: learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).

    chainrule's Adam adds epsilon to ``sqrt(v_hat)``; Keras adds it to ``sqrt(v)`` before the
    bias correction. The two differ only while ``v`` is tiny.

    >>> from chainrule import tf
    >>> w = tf.Variable([1.0])
    >>> opt = tf.keras.optimizers.Adam(learning_rate=0.1)
    >>> opt.apply_gradients([(tf.constant([2.0]), w)])
    >>> w.numpy().round(4)
    array([0.9], dtype=float32)
    """

    _native_class = chainrule.optim.Adam

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str = "Adam", **kwargs: Any) -> None:  # fmt: skip
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), bool(amsgrad)

    def _native_settings(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "amsgrad": self.amsgrad}


def get(identifier: Any) -> Optimizer:
    """An optimizer from its name (``"sgd"``, ``"adam"``) or an instance.

    >>> from chainrule import tf
    >>> tf.keras.optimizers.get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, Optimizer):
        return identifier
    table = {"sgd": SGD, "adam": Adam}
    if isinstance(identifier, str) and identifier.lower() in table:
        return table[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
