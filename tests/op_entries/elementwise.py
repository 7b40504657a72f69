"""Entries for the elementwise unary and binary primitives (ops/unary.py, ops/binary.py)."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import binary, fixed, unary, uniform


def _erf(x):
    return np.vectorize(math.erf)(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


E = OpInfo
ENTRIES = [
    E("neg", cr.neg, np.negative, unary(), ("neg",)),
    E("square", cr.square, np.square, unary(), ("square",)),
    E("sqrt", cr.sqrt, np.sqrt, unary(0.2, 3.0), ("sqrt",)),
    E("reciprocal", cr.reciprocal, np.reciprocal, unary(0.3, 3.0), ("reciprocal",)),
    E("exp", cr.exp, np.exp, unary(), ("exp",)),
    E("expm1", cr.expm1, np.expm1, unary(), ("expm1",)),
    E("log", cr.log, np.log, unary(0.2, 3.0), ("log",)),
    E("log1p", cr.log1p, np.log1p, unary(-0.5, 3.0), ("log1p",)),
    E("log2", cr.log2, np.log2, unary(0.2, 3.0), ("log2",)),
    E("log10", cr.log10, np.log10, unary(0.2, 3.0), ("log10",)),
    E("sin", cr.sin, np.sin, unary(), ("sin",)),
    E("cos", cr.cos, np.cos, unary(), ("cos",)),
    E("tan", cr.tan, np.tan, unary(-1.2, 1.2), ("tan",)),
    E("arcsin", cr.arcsin, np.arcsin, unary(-0.8, 0.8), ("arcsin",)),
    E("arccos", cr.arccos, np.arccos, unary(-0.8, 0.8), ("arccos",)),
    E("arctan", cr.arctan, np.arctan, unary(), ("arctan",)),
    E("sinh", cr.sinh, np.sinh, unary(), ("sinh",)),
    E("cosh", cr.cosh, np.cosh, unary(), ("cosh",)),
    E("tanh", cr.tanh, np.tanh, unary(), ("tanh",)),
    E("sigmoid", cr.sigmoid, _sigmoid, unary(-4, 4), ("sigmoid",)),
    E("softplus", cr.softplus, lambda x: np.log1p(np.exp(x)), unary(-4, 4), ("softplus",)),
    E("relu", cr.relu, lambda x: np.maximum(x, 0), unary(kinks=[0.0]), ("relu",)),
    E("leaky_relu", lambda x: cr.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
      unary(kinks=[0.0]), ("leaky_relu",)),
    E("elu", cr.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), unary(kinks=[0.0]), ("elu",)),
    E("elu_alpha", lambda x: cr.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
      unary(kinks=[0.0]), ("elu",)),
    E("gelu", cr.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), unary(), ("gelu",)),
    E("erf", cr.erf, _erf, unary(), ("erf",)),
    E("abs", cr.abs, np.abs, unary(kinks=[0.0]), ("abs",)),
    E("sign", cr.sign, np.sign, unary(kinks=[0.0]), ("sign",)),
    E("add", cr.add, np.add, binary(), ("add",)),
    E("sub", cr.subtract, np.subtract, binary(), ("sub",)),
    E("mul", cr.multiply, np.multiply, binary(), ("mul",)),
    E("div", cr.divide, np.divide, binary(low2=0.5, high2=2.0), ("div",)),
    E("pow", cr.power, np.power, binary(0.3, 2.0, -2.0, 2.0), ("pow",)),
    E("pow_scalar_exponent", lambda x: cr.power(x, 3), lambda x: x**3, unary(), ("pow",)),
    E("pow_scalar_base", lambda y: cr.power(2.0, y), lambda y: 2.0**y, unary(), ("pow",)),
    E("arctan2", cr.arctan2, np.arctan2, binary(0.3, 2.0), ("arctan2",)),
    E("maximum", cr.maximum, np.maximum,
      fixed(Sample((np.array([0.3, -1.0, 2.0]), np.array([0.0, 0.5, 1.0])), name="vec"),
            Sample((np.array([[0.3], [-1.2]]), np.array([0.0, 0.6, 1.0])), name="bcast")),
      ("maximum",)),
    E("minimum", cr.minimum, np.minimum,
      fixed(Sample((np.array([0.3, -1.0, 2.0]), np.array([0.0, 0.5, 1.0])), name="vec"),
            Sample((np.array([[0.3], [-1.2]]), np.array([0.0, 0.6, 1.0])), name="bcast")),
      ("minimum",)),
    E("clip", lambda x: cr.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
      unary(kinks=[-0.5, 0.7]), ("clip",)),
    E("mod", cr.mod, np.mod,
      fixed(Sample((np.array([2.3, -1.7, 5.2]), np.array([1.5, 1.1, 2.0])), name="vec")), ("mod",)),
    E("where", lambda x, y: cr.where(cr.tensor(np.array([True, False, True])), x, y),
      lambda x, y: np.where([True, False, True], x, y),
      lambda rng: [Sample((uniform(rng, (3,), -1, 1), uniform(rng, (2, 3), -1, 1)), name="bcast"),
                   Sample((uniform(rng, (), -1, 1), uniform(rng, (3,), -1, 1)), name="scalar")],
      ("where",)),
]
