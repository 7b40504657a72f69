"""Side-by-side benchmarks: chainrule vs NumPy by hand, PyTorch (CPU), HIPS autograd and JAX.

Run ``python -m benchmarks.run`` (or ``make bench``). Nothing here imports NumPy at package import:
the runner pins thread pools first.
"""
