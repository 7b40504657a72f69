"""Seed 002 ("Diferenciación automática", PyTorch) with only the import changed.

The code cells of /work/shared/seeds/002_*.txt, in order; ``import torch as th`` and
``from torch import nn`` became the chainrule dialect, and the plotting backend is Agg (the
cells import pyplot but draw nothing). tests/test_seed_walkthroughs_torch.py runs this script
and compares what it prints with what the seed shows.
"""

# ruff: noqa: I001, E402, F401
# (the cells are kept as the seed wrote them)
import matplotlib

matplotlib.use("Agg")

# In [1]:
from chainrule import torch as th
from chainrule.torch import nn

import numpy as np
import matplotlib.pyplot as plt

th.manual_seed(42)
np.random.seed(42)

# In [2]:
print('Con un tensor de ceros')
print(nn.parameter.Parameter(th.zeros(10,5)))
print('Con un tensor aleatorio')
print(nn.parameter.Parameter(th.rand(10,5)))
print('Con un arreglo de NumPy')
nparray1 = np.random.rand(5,5)
print(nn.parameter.Parameter(th.tensor(nparray1)))
print('Con una lista')
print(nn.parameter.Parameter(th.tensor([[1.,2.],[3.,4.]])))

# In [3]:
param = th.nn.parameter.Parameter(th.zeros(10,5))

print('Transpuesta:\n', param.T)
print('Suma:\n', param+th.ones_like(param))
print('Multiplicación elemento a elemento:\n', param*th.zeros_like(param))
print('Multiplicación:\n', param @ th.rand_like(param).T)

# In [4]:
ten = th.linspace(start=-10, end=10, steps=100)
print(param.requires_grad)
print(ten.requires_grad)

# In [5]:
param.requires_grad_(False)
ten.requires_grad_(True)
print(param.requires_grad)
print(ten.requires_grad)

# In [6]:
with th.no_grad():
    param[0,0] = 1
print('Nuevo valor del elemento (0,0) =', param[0,0])

# In [7]:
with th.no_grad():
    print('Suma matriz de unos a parámetros:', param.add_(th.ones_like(param)))
    print('Resta matriz de unos a parámetros:', param.subtract_(th.ones_like(param)))
    print('Multiplica parámetros por matriz de dos:', param.mul_(2*th.ones_like(param)))

# In [8]:
x = th.tensor(2., requires_grad=True)
y = th.tensor(3., requires_grad=True)
c = th.tensor(1.)
f = 2*x**3 + 3*y**2 + c
print(f)
f.backward()
