"""The core imports nothing above it: transforms, tapes, the see-inside tools, nn and the dialects
plug into it (through hooks it defines), never the other way round."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import chainrule.core

CORE = Path(chainrule.core.__file__).parent
ABOVE = ("chainrule.transforms", "chainrule.tape", "chainrule.viz", "chainrule.nn", "chainrule.torch",
         "chainrule.tf", "chainrule.ops", "chainrule.optim", "chainrule.data", "chainrule.commands")  # fmt: skip


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_imports_nothing_above_it() -> None:
    offenders = [
        f"{path.name}:{line} imports {name}"
        for path in sorted(CORE.glob("*.py"))
        for line, name in _imports(path)
        if name.startswith(ABOVE) or name == "chainrule"
    ]
    assert not offenders, "\n".join(offenders)


def test_importing_chainrule_loads_no_second_blas() -> None:
    # SciPy ships its own OpenBLAS, whose thread pool would share the cores with NumPy's from the
    # first import on; chainrule imports SciPy only at the first op that needs it (erf), and Numba
    # (cr.jit's fused loops) only when a compiled program has a pair of steps to fuse.
    code = (
        "import sys, chainrule, chainrule.torch, chainrule.tf, chainrule.numpy\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'dask', 'torch', 'pandas', 'numba', 'llvmlite'})\n"
        "print(','.join(heavy))\n"
        "chainrule.erf(chainrule.tensor([0.5]))\n"
        "print('scipy' in sys.modules)\n"
        "chainrule.jit(lambda x: chainrule.sin(x) * 2.0)(chainrule.tensor([1.0, 2.0]))\n"
        "print('numba' in sys.modules)\n"
        "chainrule.jit(lambda x, b: chainrule.relu(x @ x + b))(chainrule.ones((4, 4)), chainrule.ones(4))\n"
        "print('numba' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    heavy, after_erf, after_plain_jit, after_relu_jit = out.stdout.splitlines()
    assert heavy == ""
    assert after_erf == str(importlib.util.find_spec("scipy") is not None)
    # (A jitted function with nothing to fuse pays no Numba import; one with a pair does.)
    assert after_plain_jit == "False"
    assert after_relu_jit == str(importlib.util.find_spec("numba") is not None)
