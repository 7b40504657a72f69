"""HIPS autograd's transform names, built on the JAX-style transforms (``vjp``, ``jvp``,
``grad``, ``jacrev``).

``grad``, ``value_and_grad``, ``jacobian`` and ``hessian`` are the top-level ``chainrule`` ones
and serve both dialects: the second positional argument picks the argument(s) to differentiate
in both libraries, so ``grad(f, 1)`` means the same; the keyword is ``argnums`` (JAX) or
``argnum`` (autograd), either one. ``grad`` takes a function whose output has one element
(shape ``()``, ``(1,)``, ``(1, 1)``...), as autograd (and PyTorch's ``backward()``) do, where JAX
asks for shape ``()``. The others are autograd's alone: ``elementwise_grad``, ``make_vjp``,
``make_jvp``, ``make_hvp``, ``hessian_tensor_product`` (alias ``hessian_vector_product``),
``tensor_jacobian_product`` (alias ``vector_jacobian_product``), ``grad_and_aux`` and
``make_ggnvp``. As in autograd, each takes ``(fun, argnum=0)`` and returns a function of
``fun``'s own arguments; a function whose output is not floating point (a bool, an integer)
cannot be differentiated and raises ``TypeError``.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> cr.elementwise_grad(np.tanh)(np.array([0.0, 1.0]))
tensor([1.        , 0.41997434], dtype=float64)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.ops.linalg import matmul
from chainrule.ops.reduce import sum as _sum
from chainrule.ops.shape import reshape
from chainrule.transforms import api, reverse
from chainrule.transforms.forward import jvp as _jvp
from chainrule.transforms.pytree import flatten, unflatten
from chainrule.transforms.reverse import vjp as _vjp

__all__ = [
    "grad", "value_and_grad", "jacobian", "hessian", "elementwise_grad", "make_vjp", "make_jvp",
    "make_hvp", "hessian_tensor_product", "hessian_vector_product", "tensor_jacobian_product",
    "vector_jacobian_product", "grad_and_aux", "make_ggnvp",
]  # fmt: skip


def _pick(argnums: Any, argnum: Any, op: str) -> Any:
    if argnum is None:
        return argnums
    if not (isinstance(argnums, int) and argnums == 0):
        raise TypeError(f"{op}: give argnums= (JAX's name) or argnum= (autograd's), not both")
    return argnum


def _name(f: Any) -> str:
    return getattr(f, "__name__", "f")


def _one_element(y: Any, op: str) -> Any:
    """A one-element output as a scalar (shape ``()``); anything else unchanged (``grad`` then
    raises its own error for it)."""
    if isinstance(y, Tensor) and y.ndim > 0 and int(np.prod(y.shape)) == 1:
        return reshape(y, ())
    if isinstance(y, np.ndarray) and y.ndim > 0 and y.size == 1:
        return y.reshape(())
    return y


def _scalarized(f: Callable[..., Any], has_aux: bool, shapes: list[Any]) -> Callable[..., Any]:
    def scalar_f(*args: Any, **kwargs: Any) -> Any:
        out = f(*args, **kwargs)
        if has_aux and isinstance(out, (tuple, list)) and len(out) == 2:
            y, aux = out
            shapes.append(getattr(y, "shape", None))
            return _one_element(y, "grad"), aux
        shapes.append(getattr(out, "shape", None))
        return _one_element(out, "grad")

    scalar_f.__name__ = _name(f)
    return scalar_f


def grad(fun: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, *,
         argnum: Any = None) -> Callable[..., Any]:  # fmt: skip
    """The gradient of ``fun`` with respect to argument ``argnums`` (or ``argnum``).

    JAX's ``grad(fun, argnums=0, has_aux=False)`` and autograd's ``grad(fun, argnum=0)`` in one:
    an int gives one gradient, a tuple or list a tuple of them. The output must have exactly one
    element (shape ``()``, ``(1,)``...) and be floating point; anything else raises
    ``TypeError`` (use ``jacobian`` or ``elementwise_grad`` for the others).

    >>> import chainrule as cr
    >>> cr.grad(lambda x, y: x * y ** 2, argnum=1)(3.0, 2.0)
    tensor(12., dtype=float64)
    >>> cr.grad(lambda x: cr.reshape(x ** 2, (1,)))(3.0)
    tensor(6., dtype=float64)
    """
    if not callable(fun):
        raise TypeError(f"grad: expected a callable (the function to differentiate), got {type(fun).__name__}")
    nums = _pick(argnums, argnum, "grad")
    inner = reverse.grad(_scalarized(fun, has_aux, []), nums, has_aux)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return inner(*args, **kwargs)

    grad_f.__name__ = f"grad({_name(fun)})"
    grad_f.__doc__ = f"The gradient of {_name(fun)} with respect to argument(s) {nums!r}."
    return grad_f


def value_and_grad(fun: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, *,
                   argnum: Any = None) -> Callable[..., Any]:  # fmt: skip
    """``fun``'s value and its gradient: ``(value, grad)``, or ``((value, aux), grad)``.

    Takes ``argnums`` (JAX) or ``argnum`` (autograd) and, as :func:`grad`, any one-element
    output; the value keeps the output's shape.

    >>> import chainrule as cr
    >>> value, g = cr.value_and_grad(lambda x: x ** 3, argnum=0)(2.0)
    >>> float(value), float(g)
    (8.0, 12.0)
    """
    if not callable(fun):
        raise TypeError(f"value_and_grad: expected a callable, got {type(fun).__name__}")
    nums = _pick(argnums, argnum, "value_and_grad")
    shapes: list[Any] = []
    inner = reverse.value_and_grad(_scalarized(fun, has_aux, shapes), nums, has_aux)

    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        shapes.clear()
        value, g = inner(*args, **kwargs)
        shape = shapes[-1] if shapes else None
        if has_aux:
            value, aux = value
        if shape is not None and isinstance(value, Tensor) and tuple(value.shape) != tuple(shape):
            value = reshape(value, tuple(shape))
        return ((value, aux), g) if has_aux else (value, g)

    value_and_grad_f.__name__ = f"value_and_grad({_name(fun)})"
    return value_and_grad_f


def jacobian(fun: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, *,
             argnum: Any = None) -> Callable[..., Any]:  # fmt: skip
    """The Jacobian by reverse mode (``jacrev``); shape ``output.shape + input.shape``.

    Takes ``argnums`` (JAX) or ``argnum`` (autograd).

    >>> import chainrule as cr
    >>> cr.jacobian(lambda x, y: x * y, argnum=1)(cr.tensor([1., 2.]), cr.tensor([3., 4.]))
    tensor([[1., 0.],
            [0., 2.]], dtype=float64)
    """
    return reverse.jacrev(fun, _pick(argnums, argnum, "jacobian"), has_aux)


def hessian(fun: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, *,
            argnum: Any = None) -> Callable[..., Any]:  # fmt: skip
    """The Hessian (the Jacobian of the Jacobian); takes ``argnums`` (JAX) or ``argnum``
    (autograd). For an input of shape ``T`` and output of shape ``S``: shape ``S + T + T``.

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x ** 3).sum(), argnum=0)(cr.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=float64)
    """
    return api.hessian(fun, _pick(argnums, argnum, "hessian"), has_aux)


# ------------------------------------------------------------------ autograd's own transforms
def _unary(fun: Callable[..., Any], argnum: Any, args: tuple[Any, ...],
           kwargs: dict[str, Any], op: str) -> tuple[Callable[[Any], Any], Any]:  # fmt: skip
    """``fun`` as a function of the argument(s) ``argnum`` alone, and their current value."""
    if not callable(fun):
        raise TypeError(f"{op}: expected a callable (the function to differentiate), got {type(fun).__name__}")
    many = isinstance(argnum, (tuple, list))
    nums = tuple(argnum) if many else (argnum,)
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -len(args) <= i < len(args):
            raise ValueError(
                f"{op}: argnum {argnum!r} does not name one of the {len(args)} positional "
                "argument(s) the function was called with"
            )

    def unary(x: Any) -> Any:
        new = list(args)
        for i, v in zip(nums, x if many else (x,)):
            new[i] = v
        return fun(*new, **kwargs)

    unary.__name__ = _name(fun)
    x = tuple(args[i] for i in nums) if many else args[argnum]
    return unary, x


def _require_float_output(out: Any, op: str) -> None:
    for leaf in flatten(out)[0]:
        dtype = leaf.dtype if isinstance(leaf, (Tensor, np.ndarray, np.generic)) else np.asarray(leaf).dtype
        if dtype.kind not in "fc":
            raise TypeError(
                f"{op}: the function returned a value of dtype {dtype} ({type(leaf).__name__}), which "
                "has no derivative; differentiate a floating-point output (cast with .astype(float) if "
                "the value is continuous)"
            )


def make_vjp(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    """autograd's ``make_vjp``: ``make_vjp(fun, argnum)(*args)`` is ``(vjp, value)``, where
    ``vjp(cotangent)`` is the cotangent pulled back to argument ``argnum`` (a tuple of them for
    a tuple ``argnum``). Note the order: the function first, as in autograd (JAX's ``vjp`` gives
    the value first).

    >>> import chainrule as cr
    >>> back, y = cr.make_vjp(lambda x: x * x)(cr.tensor([1., 3.]))
    >>> back(cr.tensor([1., 1.]))
    tensor([2., 6.], dtype=float64)
    """

    def vjp_maker(*args: Any, **kwargs: Any) -> Any:
        unary, x = _unary(fun, argnum, args, kwargs, "make_vjp")
        value, back = _vjp(unary, x)
        _require_float_output(value, "make_vjp")

        def vjp_fn(cotangent: Any) -> Any:
            return back(cotangent)[0]

        return vjp_fn, value

    vjp_maker.__name__ = f"make_vjp({_name(fun)})"
    return vjp_maker


def make_jvp(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    """autograd's ``make_jvp``: ``make_jvp(fun, argnum)(*args)`` is a function of a tangent
    ``v`` (shaped like argument ``argnum``) returning ``(value, J·v)``, by forward mode.

    >>> import chainrule as cr
    >>> cr.make_jvp(lambda x: x ** 3)(2.0)(1.0)[1]
    tensor(12., dtype=float64)
    """

    def jvp_maker(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        unary, x = _unary(fun, argnum, args, kwargs, "make_jvp")

        def jvp_fn(v: Any) -> Any:
            value, tangent = _jvp(unary, (x,), (v,))
            _require_float_output(value, "make_jvp")
            return value, tangent

        return jvp_fn

    jvp_maker.__name__ = f"make_jvp({_name(fun)})"
    return jvp_maker


def elementwise_grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    """autograd's ``elementwise_grad``: the vector-Jacobian product with a vector of ones, i.e.
    the sum of the Jacobian over the output. It is the derivative of each element when ``fun``
    acts elementwise (a diagonal Jacobian); for other functions it is *not* a derivative of
    anything elementwise, just that sum.

    >>> import chainrule as cr
    >>> cr.elementwise_grad(lambda x: x ** 2)(cr.tensor([1., 2., 3.]))
    tensor([2., 4., 6.], dtype=float64)
    """

    def egrad(*args: Any, **kwargs: Any) -> Any:
        vjp_fn, value = make_vjp(fun, argnum)(*args, **kwargs)
        leaves, treedef = flatten(value)
        ones = [np.ones(np.shape(leaf._data if isinstance(leaf, Tensor) else leaf),
                        dtype=leaf.dtype if isinstance(leaf, Tensor) else np.float64) for leaf in leaves]  # fmt: skip
        return vjp_fn(unflatten(treedef, ones))

    egrad.__name__ = f"elementwise_grad({_name(fun)})"
    return egrad


def make_hvp(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    """autograd's ``make_hvp``: ``make_hvp(fun, argnum)(*args)`` is ``(hvp, gradient)``, where
    ``hvp(v)`` is the Hessian-vector product at ``args`` (the gradient's pull-back is recorded
    once and reused for every ``v``).

    >>> import chainrule as cr
    >>> hvp, g = cr.make_hvp(lambda x: (x ** 3).sum())(cr.tensor([1., 2.]))
    >>> hvp(cr.tensor([1., 0.]))
    tensor([6., 0.], dtype=float64)
    """

    def hvp_maker(*args: Any, **kwargs: Any) -> Any:
        return make_vjp(grad(fun, argnum), argnum)(*args, **kwargs)

    hvp_maker.__name__ = f"make_hvp({_name(fun)})"
    return hvp_maker


def _contract(v: Any, y: Any, op: str) -> Any:
    """``tensordot(v, y, axes=v.ndim)``: ``v`` summed against the leading axes of ``y``."""
    v_shape = tuple(np.shape(v._data if isinstance(v, Tensor) else v))
    y_shape = tuple(y.shape) if isinstance(y, Tensor) else tuple(np.shape(y))
    if y_shape[: len(v_shape)] != v_shape:
        raise ValueError(
            f"{op}: the tensor has shape {v_shape}, which must equal the leading axes of the "
            f"function's output (shape {y_shape})"
        )
    rest = y_shape[len(v_shape) :]
    size = int(np.prod(v_shape, dtype=np.int64))
    flat_v = reshape(v if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64), (1, size))
    flat_y = reshape(y, (size, int(np.prod(rest, dtype=np.int64))))
    return reshape(matmul(flat_v, flat_y), rest)


def hessian_tensor_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's ``hessian_tensor_product``: a function of ``(*args, v)`` giving the Hessian of
    the scalar ``fun`` at ``args`` contracted with ``v`` (shaped like argument ``argnum``), by
    reverse over reverse. ``hessian_vector_product`` is the same function.

    >>> import chainrule as cr
    >>> cr.hessian_tensor_product(lambda x: (x ** 3).sum())(cr.tensor([1., 2.]), cr.tensor([0., 1.]))
    tensor([ 0., 12.], dtype=float64)
    """
    fun_grad = grad(fun, argnum)

    def vector_dot_grad(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("hessian_tensor_product: call it with the function's arguments and then the tensor")
        g, v = fun_grad(*args[:-1], **kwargs), args[-1]
        g_leaves, v_leaves = flatten(g)[0], flatten(v)[0]
        if len(g_leaves) != len(v_leaves):
            raise ValueError("hessian_tensor_product: give one tensor per differentiated argument")
        terms = [_contract(vl, gl, "hessian_tensor_product") for gl, vl in zip(g_leaves, v_leaves)]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    htp = grad(vector_dot_grad, argnum)
    htp.__name__ = f"hessian_tensor_product({_name(fun)})"
    return htp


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's ``tensor_jacobian_product``: a function of ``(*args, v)`` giving
    ``tensordot(v, J, axes=v.ndim)``, the Jacobian of ``fun`` at ``args`` left-multiplied by
    ``v`` (whose shape is the leading axes of ``fun``'s output). ``vector_jacobian_product`` is
    the same function.

    >>> import chainrule as cr
    >>> tjp = cr.tensor_jacobian_product(lambda x: x * cr.tensor([1., 2.]))
    >>> tjp(cr.tensor([5., 5.]), cr.tensor([1., 1.]))
    tensor([1., 2.], dtype=float64)
    """

    def vector_dot_fun(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("tensor_jacobian_product: call it with the function's arguments and then the tensor")
        return _contract(args[-1], fun(*args[:-1], **kwargs), "tensor_jacobian_product")

    tjp = jacobian(vector_dot_fun, argnum)
    return tjp


vector_jacobian_product = tensor_jacobian_product


def grad_and_aux(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    """autograd's ``grad_and_aux``: ``fun`` returns ``(output, aux)``; this gives
    ``(gradient of output, aux)``, as ``grad(fun, argnum, has_aux=True)``.

    >>> import chainrule as cr
    >>> g, aux = cr.grad_and_aux(lambda x: (x ** 2, "note"))(3.0)
    >>> float(g), aux
    (6.0, 'note')
    """
    return grad(fun, argnum, has_aux=True)


def _half_squared_norm(x: Any) -> Any:
    return 0.5 * _sum(x**2, axis=-1)


def make_ggnvp(f: Callable[..., Any], g: Callable[..., Any] = _half_squared_norm,
               f_argnum: int = 0) -> Callable[..., Any]:  # fmt: skip
    """autograd's ``make_ggnvp``: ``make_ggnvp(f, g)(*args)`` is a function of ``v`` giving the
    generalized Gauss-Newton product ``J_fᵀ · H_g(f(x)) · J_f · v`` (``g`` defaults to half the
    squared norm over the last axis, making it ``J_fᵀ J_f v``).

    >>> import chainrule as cr
    >>> A = cr.tensor([[1., 2.], [3., 4.]])
    >>> cr.make_ggnvp(lambda x: A @ x)(cr.tensor([1., 1.]))(cr.tensor([1., 0.]))
    tensor([10., 14.], dtype=float64)
    """

    def ggnvp_maker(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        f_vjp, f_x = make_vjp(f, f_argnum)(*args, **kwargs)
        g_hvp, _ = make_hvp(g)(f_x)
        f_jvp = make_jvp(f, f_argnum)(*args, **kwargs)

        def ggnvp(v: Any) -> Any:
            return f_vjp(g_hvp(f_jvp(v)[1]))

        return ggnvp

    ggnvp_maker.__name__ = f"make_ggnvp({_name(f)})"
    return ggnvp_maker
