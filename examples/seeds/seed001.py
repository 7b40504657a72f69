"""Seed 001 ("Automatic differentiation software"), run on chainrule.

The seed's code cells, in order, with only the imports changed: ``from chainrule import tf`` in
place of ``import tensorflow as tf`` and ``from chainrule import torch`` in place of
``import torch``. Each cell starts with a comment naming its ``In [n]``. Two more changes,
both for running as a script: a cell whose last line is an expression shows it as the
notebook does (``display``, which prints its repr), and the cells that raise on purpose
(a second gradient, a second backward) print their error, as the notebook shows it, and go on.

    python examples/seeds/seed001.py
"""

# In [101]:
import numpy as np  # noqa: F401 - the seed imports it

from chainrule import tf, torch  # the seed: import tensorflow as tf / import torch


def display(value):
    """What a notebook shows for a cell's last expression: its repr."""
    print(repr(value))


# In [80]:
x = tf.Variable(3.0)

with tf.GradientTape() as tape:
  y = x**2

# In [81]:
# dy = 2x * dx
dy_dx = tape.gradient(y, x)
display(dy_dx)

# In [82]:
display(dy_dx.numpy())

# In [83]:
x = torch.tensor(3.0, requires_grad=True)
y = x**2

# In [84]:
print(f"Gradient function for y = {y.grad_fn}")

# In [85]:
# computes gradients of y with respect to any dependent variables
# having requires_grad=True
y.backward()

# In [86]:
# dy/dx
dy_dx = x.grad
display(dy_dx)

# In [87]:
display(dy_dx.numpy())

# In [88]:
x = [[-2., 2., 2., -2.], [ 2.1, 1., 1.5, -1.]] # input
y = [[1., 0., 0.], [0., 1., 0]] # expected output

# In [89]:
# parameters
w = tf.Variable(tf.random.normal((4, 3)), name='w')
b = tf.Variable(tf.zeros(3, dtype=tf.float32), name='b')

# Computations we want to track get done with the GradientTape context
with tf.GradientTape() as tape:
    # NOTE tensorflow is implcitly casting x and y to tf.Tensor
    logits = x @ w + b
    loss = tf.nn.softmax_cross_entropy_with_logits(y,logits)

# In [90]:
[dl_dw, dl_db] = tape.gradient(loss, [w, b])

# In [91]:
print(w.shape)
print(dl_dw.shape)

# In [92]:
try:  # the notebook shows this cell's error; the script prints it and goes on
    # This should raise an error
    [dl_dw, dl_db] = tape.gradient(loss, [w, b])
except RuntimeError as error:
    print(f"{type(error).__name__}: {error}")

# In [94]:
# Need to regriate the forwad computations, this time with persistent gradient tape
with tf.GradientTape(persistent=True) as tape:
    # NOTE tensorflow is implcitly casting x and y to tf.Tensor
    logits = x @ w + b
    loss = tf.nn.softmax_cross_entropy_with_logits(y,logits)

# Now gradients can be computed multiple times
[dl_dw, dl_db] = tape.gradient(loss, [w, b])

# In [None]:
my_vars = {
    'w': w,
    'b': b
}

grad = tape.gradient(loss, my_vars)
display(grad['b'])

# In [95]:
# parameters
w = torch.randn(4, 3, requires_grad=True)
b = torch.zeros(3, requires_grad=True)

# NOTE in Pytorch we need to cast x and y to tensors explicitly
logits = torch.matmul(torch.tensor(x), w) + b

loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))

# In [96]:
loss.backward()

# In [97]:
[dl_dw, dl_db] = w.grad, b.grad

# In [98]:
print(w.shape)
print(dl_dw.shape)

# In [99]:
try:  # the notebook shows this cell's error; the script prints it and goes on
    # this will raise an error
    loss.backward()
except RuntimeError as error:
    print(f"{type(error).__name__}: {error}")

# In [100]:
# need to recriate the forward graph and use retain_graph=True in backward call
logits = torch.matmul(torch.tensor(x), w) + b

loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))

loss.backward(retain_graph=True)
