"""Loading the compared libraries once, each pinned to the same thread count.

Every loader returns the module or raises (ImportError or whatever the import raised); the
workloads turn a failure into an "n/a: <reason>" row instead of stopping the run.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path
from types import ModuleType

__all__ = [
    "THREADS", "load_numpy", "load_torch", "load_autograd", "load_jax", "load_chainrule",
    "environment_lines",
]  # fmt: skip

THREADS = 2  # run.py overrides this from --threads before any library loads
REPO_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def load_numpy() -> ModuleType:
    import numpy

    return numpy


@functools.cache
def load_torch() -> ModuleType:
    import torch

    torch.set_num_threads(THREADS)
    # Inter-op threads can only be set before torch runs any parallel work.
    try:
        torch.set_num_interop_threads(THREADS)
    except RuntimeError:
        pass
    return torch


@functools.cache
def load_autograd() -> ModuleType:
    import autograd
    import autograd.numpy  # noqa: F401
    import autograd.scipy.special  # noqa: F401

    return autograd


@functools.cache
def load_jax() -> ModuleType:
    import jax

    # op_overhead compares float64 gradients; the MLP passes float32 arrays explicitly.
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy  # noqa: F401
    import jax.scipy.special  # noqa: F401

    return jax


@functools.cache
def load_chainrule() -> ModuleType:
    import chainrule

    return chainrule


def _try(loader) -> tuple[ModuleType | None, str]:
    try:
        return loader(), ""
    except Exception as error:  # any import failure is reported, not raised
        return None, f"{type(error).__name__}: {error}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=5, check=False,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _blas_pools() -> list[str]:
    try:
        import threadpoolctl
    except ImportError:
        numpy = load_numpy()
        config = numpy.show_config(mode="dicts") if numpy.__version__ >= "1.25" else {}
        blas = config.get("Build Dependencies", {}).get("blas", {}) if config else {}
        name = blas.get("name", "?")
        return [f"numpy BLAS: {name} {blas.get('version', '')} (install threadpoolctl for the kernel)"]
    lines = []
    for info in threadpoolctl.threadpool_info():
        lib = Path(info.get("filepath", "?")).name
        extra = ", ".join(
            f"{key}={info[key]}" for key in ("architecture", "threading_layer") if info.get(key)
        )
        lines.append(
            f"{info.get('user_api')}: {info.get('internal_api')} {info.get('version')} "
            f"threads={info.get('num_threads')} {extra} [{lib}]"
        )
    return lines


def environment_lines(threads_desc: str) -> list[str]:
    """The header: machine, thread pinning, and each library's version and threading."""
    numpy = load_numpy()
    lines = [
        f"machine   : {_cpu_model()}, {os.cpu_count()} CPUs visible, {platform.system()} "
        f"{platform.release()}",
        f"python    : {platform.python_version()}  threads: {threads_desc}",
        f"numpy     : {numpy.__version__}",
    ]
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            lines.append(f"            warning: {key}={os.environ[key]} is set (make bench unsets it)")
    torch, error = _try(load_torch)
    if torch is not None:
        blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
        lines.append(
            f"torch     : {torch.__version__}  intra-op threads={torch.get_num_threads()} "
            f"inter-op={torch.get_num_interop_threads()}  {blas}, "
            f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
        )
    else:
        lines.append(f"torch     : n/a ({error})")
    autograd, error = _try(load_autograd)
    if autograd is not None:
        from importlib.metadata import version

        lines.append(f"autograd  : {version('autograd')}")
    else:
        lines.append(f"autograd  : n/a ({error})")
    jax, error = _try(load_jax)
    if jax is not None:
        lines.append(
            f"jax       : {jax.__version__}  devices={[str(d) for d in jax.devices()]}  "
            f"XLA_FLAGS='{os.environ.get('XLA_FLAGS', '')}'"
        )
    else:
        lines.append(f"jax       : n/a ({error})")
    chainrule, error = _try(load_chainrule)
    if chainrule is not None:
        lines.append(f"chainrule : {chainrule.__version__}  git {_git_revision()}")
    else:
        lines.append(f"chainrule : n/a ({error})")
    # Read after every library is loaded, so torch's OpenMP / MKL pools show up too.
    lines.append("BLAS/OpenMP pools (threadpoolctl):")
    lines.extend(f"  {line}" for line in _blas_pools())
    return lines
