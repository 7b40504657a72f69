"""Checking derivatives against finite differences: ``gradcheck`` and ``gradgradcheck``."""

from chainrule.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_jacobian

__all__ = ["gradcheck", "gradgradcheck", "numerical_jacobian", "GradcheckError"]
