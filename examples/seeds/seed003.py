"""Seed 003 ("Práctica Nº 03: gradientes y diferenciación automática"), run on chainrule.

The seed's code cells, in order, with only the imports changed: ``from chainrule import tf`` in
place of ``import tensorflow as tf`` and ``chainrule.tf.keras...`` in place of
``tensorflow.keras...``. Each cell starts with a comment naming its ``In [n]`` (``In [ ]`` for
the cells the notebook left unnumbered). Beyond the imports:

* the CSV file the linear-regression cell reads (``/content/data - data.csv``) is not shipped:
  small generated points take its place (the cell then sets ``x = []`` anyway, as the seed does);
* MNIST is not shipped and chainrule downloads nothing: unless ``$CHAINRULE_MNIST`` names a
  local copy, the 8×8 digits set (``chainrule.data.load_digits``), scaled up to 28×28, is
  written as MNIST IDX files in a temporary folder for ``mnist.load_data()`` to read;
* ``%matplotlib inline`` (notebook-only syntax) is dropped;
* the training loop is shortened (see the comment there).

    python examples/seeds/seed003.py
"""
# The cells import mid-file, re-import, import names they never use and `del` names that later
# functions read, exactly as the notebook does:
# ruff: noqa: E402, F401, F811, F821, I001, B007

# In [1]:
from chainrule import tf

print(tf.__version__)

# In [ ]:
x = tf.constant(5.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x**3

print(tape.gradient(y, x).numpy())

del tape, x

# In [ ]:
x = tf.Variable(6.0, trainable=True) # Error on: tf.constant(6.0) or tf.Variable(6.0, trainable=False)
with tf.GradientTape() as tape:
    y = x**3

print(tape.gradient(y, x).numpy())

del tape, x

# In [ ]:

x = tf.Variable(3.0, trainable=True)
with tf.GradientTape(watch_accessed_variables=False) as tape:
    y = x**3

print(tape.gradient(y, x))

del tape, x

# In [ ]:

x = tf.Variable(3.0, trainable=True)
with tf.GradientTape() as tape1:
    with tf.GradientTape() as tape2:
        y = x ** 3
    order_1 = tape2.gradient(y, x)
order_2 = tape1.gradient(order_1, x)

print(order_2.numpy())

del x, tape1, tape2, order_1, order_2

# In [ ]:

a = tf.Variable(6.0, trainable=True)
b = tf.Variable(2.0, trainable=True)
with tf.GradientTape(persistent=True) as tape:
    y1 = a ** 2
    y2 = b ** 3

print(tape.gradient(y1, a).numpy())
print(tape.gradient(y2, b).numpy())

del a, b, tape, y1, y2

# In [ ]:
x = tf.Variable(3.0, trainable=True)
with tf.GradientTape() as tape:
    y = x**3
    with tape.stop_recording():
        # Poner tape.gradient fuera de un bloque stop_recording, pero dentro del bloque de cinta, generará una advertencia sobre la ineficiencia.
        print(tape.gradient(y, x).numpy())

del tape, x

# In [ ]:
a = tf.Variable(6.0, trainable=True)
b = tf.Variable(2.0, trainable=True)
with tf.GradientTape(persistent=True) as tape:
    y1 = a ** 2
    with tape.stop_recording():
        print(tape.gradient(y1, a).numpy())

    y2 = b ** 3
    with tape.stop_recording():
        print(tape.gradient(y2, b).numpy())


del a, b, tape, y1, y2

# In [1]:
import random

import numpy as np

from chainrule import tf

# (Not in the seed: its CSV file is not shipped, so small generated points are written to a
# file of the same name in a temporary folder, and read from there.)
import tempfile
from pathlib import Path

_csv = Path(tempfile.mkdtemp()) / "data - data.csv"
_xs = np.linspace(0.0, 10.0, 21)
np.savetxt(_csv, np.column_stack([_xs, 6.12 * _xs + 1.35]), delimiter=",")

#------- programa principal--------------

puntos = np.genfromtxt(_csv, delimiter=",")
x = []
# Función de pérdida
def loss(real_y, pred_y):
    return tf.abs(real_y - pred_y)

# Datos de entrenamiento
x_train = x
y_train = np.asarray([(i*6.12)+1.35 for i in x_train]) # y = 6.12x+1.35

# Variables entrenables
a = tf.Variable(random.random(), trainable=True)
b = tf.Variable(random.random(), trainable=True)

# función de paso
def step(real_x, real_y):
    with tf.GradientTape(persistent=True) as tape:
        # Hacer predicción
        pred_y = a * real_x + b
        # Cáclulo de pérdida
        reg_loss = loss(real_y, pred_y)

    # Cacula gradientes
    a_gradients, b_gradients = tape.gradient(reg_loss, (a, b))

    # actualiza las variables
    a.assign_sub(a_gradients * 0.001)
    b.assign_sub(b_gradients * 0.001)

# ciclo de entrenamiento
for _ in range(10000):
    step(x_train, y_train)

print(f'y ≈ {a.numpy()}x + {b.numpy()}')

del a, b, x_train, y_train, step, loss

# In [ ]:

import random

import numpy as np


# función de pérdida
def loss(real_y, pred_y):
    return tf.abs(real_y - pred_y)

# Datos de entrenamiento
x_train = np.asarray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
y_train = np.asarray([6*i**2 + 8*i + 2 for i in x_train]) # y = 6x^2 + 8x + 2

# variables entrenables
a = tf.Variable(random.random(), trainable=True)
b = tf.Variable(random.random(), trainable=True)
c = tf.Variable(random.random(), trainable=True)

# función de paso
def step(real_x, real_y):
    with tf.GradientTape(persistent=True) as tape:
        # hacer predicción
        pred_y = a*real_x**2 + b*real_x + c
        # Calcular pérdida
        poly_loss = loss(real_y, pred_y)

    # Calcular gradientes
    a_gradients, b_gradients, c_gradients = tape.gradient(poly_loss, (a, b, c))

    # actualizar variables
    a.assign_sub(a_gradients * 0.001)
    b.assign_sub(b_gradients * 0.001)
    c.assign_sub(c_gradients * 0.001)

# Ciclo de entrenamiento
for _ in range(10000):
    step(x_train, y_train)

print(f'y ≈ {a.numpy()}x^2 + {b.numpy()}x + {c.numpy()}')

del a, b, x_train, y_train, step, loss

#y = 6.002356052398682x^2 + 7.548577308654785x + 1.9996548891067505

# In [ ]:
import math
import random

import matplotlib.pyplot as plt

from chainrule.tf.keras.datasets import mnist
from chainrule.tf.keras.layers import Dense, Flatten
from chainrule.tf.keras.models import Sequential
from chainrule.tf.keras.optimizers import SGD

# (Not in the seed: MNIST is not shipped. Unless $CHAINRULE_MNIST names a local copy, the digits
# set, each 8x8 image scaled up 3x and padded to 28x28, is written as MNIST IDX files.)
import os

from chainrule import data

if not os.environ.get(mnist.ENV_VAR):
    _images, _labels = data.load_digits()
    _big = np.pad(np.kron(_images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
    _pixels = np.rint(_big * 255).astype(np.uint8)
    _folder = tempfile.mkdtemp()
    for _name, _array in [("train_images", _pixels[:1500]), ("train_labels", _labels[:1500]),
                          ("test_images", _pixels[1500:]), ("test_labels", _labels[1500:])]:
        data.write_idx(os.path.join(_folder, data.MNIST_FILES[_name]), _array.astype(np.uint8))
    os.environ[mnist.ENV_VAR] = _folder

# In [ ]:
# Load and pre-process training data
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = (x_train / 255)
x_test = (x_test / 255)


# In [ ]:
# Hyperparameters
batch_size = 128
epochs = 25
optimizer = SGD(lr=0.001)

# In [ ]:
model = Sequential()
model.add(Dense(256, activation='relu'))
model.add(Dense(128, activation='relu'))
model.add(Dense(10))

# In [ ]:
def step(real_x, real_y):
  with tf.GradientTape() as tape: # Record the gradient calculation
    # Flatten x, [b, 28, 28] => [b, 784]
    x = tf.reshape(x_train, (-1, 28*28))
    # Step1. get output [b, 784] => [b, 10]
    out = model(x)
    #  [b] => [b, 10]
    y_onehot = tf.one_hot(y_train, depth=10)
    # Calculate squared error, [b, 10]
    loss = tf.square(out-y_onehot)
    # Calculate the mean squared error, [b]
    loss = tf.reduce_sum(loss) / x.shape[0]
    print('pérdida:',loss)
  #Step3. Calculate gradients w1, w2, w3, b1, b2, b3
  grads = tape.gradient(loss, model.trainable_variables)
  # Auto gradient calculation
  #grads = tape.gradient(loss, model.trainable_variables)
  # w' = w - lr * grad, update parameters
  optimizer.apply_gradients(zip(grads, model.trainable_variables))

# In [ ]:
# Shortened (not in the seed): each step trains on the whole training set (the seed's step
# reads the global x_train, not its arguments), and the seed's run of 25 epochs was stopped
# by hand after a few dozen steps; 2 epochs keep the walkthrough to seconds.
epochs = 2
# Training loop
bat_per_epoch = math.floor(len(x_train) / batch_size)
for epoch in range(epochs):
    print('=', end='')
    for i in range(bat_per_epoch):
      step(x_train[i], y_train[i])
