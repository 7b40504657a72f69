"""Checking derivatives against finite differences: ``gradcheck`` and ``gradgradcheck`` (per
Jacobian element, tight tolerances), and HIPS autograd's ``check_grads``, ``check_equivalent``
and ``combo_check`` (random projections, autograd's semantics)."""

from chainrule.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_jacobian

__all__ = ["gradcheck", "gradgradcheck", "numerical_jacobian", "GradcheckError"]

# HIPS autograd's checks (autograd.test_util), in a block of their own.
from chainrule.testing.autograd_checks import check_equivalent, check_grads, combo_check  # noqa: E402

__all__ += ["check_grads", "check_equivalent", "combo_check"]
