"""Seed 000 ("Práctica 5: Automatic Differentation (AD) in Python"), run on chainrule.

The seed's code cells, in order, with only the import changed: ``from chainrule import tf`` in
place of ``import tensorflow as tf``. Each cell starts with a comment naming its ``In [n]``.

    python examples/seeds/seed000.py
"""

# In [9]:
from chainrule import tf

# In [10]:
x = tf.Variable(3.0) # asigna el valor 3 a la variable x

with tf.GradientTape() as tape: # almacena todas las operaciones hechas con tf.GradientTape en tape
  y = x ** 2

dy_dx = tape.gradient(y, x) # derivada de y respecto a x
print(f"derivada de y respecto a x en x=3 igual a {dy_dx}")

# In [11]:
with tf.GradientTape() as tape2: # almacena todas las operaciones hechas con tf.GradientTape en tape
  with tf.GradientTape() as tape1:
    y = x ** 3
  dy_dx = tape1.gradient(y,x)  # derivada de y respecto a x
d2y_d2x = tape2.gradient(dy_dx, x) # derivada segunda de y respecto a x dos veces

print(f"derivada de y respecto a x en x=3 igual a {dy_dx}")
print(f"derivada segunda de y respecto a x dos veces en x=3 igual a {d2y_d2x}")

# In [12]:
x = tf.Variable([2.0, 3.0])

print(x)

with tf.GradientTape() as tape: # almacena todas las operaciones hechas con tf.GradientTape en tape
  f = x[0]** 2 * (x[0] + x[1])

print(f"f(2, 3) = {f}")

grad_f = tape.gradient(f, x) # gradiente de f
print(f"gradiente de f en (2, 3) = {grad_f}")

# In [13]:
with tf.GradientTape() as tape2: # almacenamos todas las operaciones hechas con tf.GradientTape en tape2
    with tf.GradientTape() as tape1:
        f = x[0] ** 2 * (x[0] + x[1])
    grad_f = tape1.gradient(f, x) # gradiente de f
hess_f = tape2.jacobian(grad_f, x) # hessiana de f
print(f"matriz hessiana de f en (2, 3) = \n {hess_f}")

from numpy.linalg import eig  # noqa: E402 - imported mid-notebook, as in the seed

eigenvalues, _ = eig(hess_f)

print(f"valores propios de la matriz hessiana de f en (2, 3) = \n {eigenvalues}")

# In [14]:
# empezamos borrando tape
del tape

# In [54]:
# A continuación, definimos las variables asignando valores aleatorios a los pesos
# y unos a los biases
tensor_x = tf.Variable([[1, 2, 3, 4]], dtype=tf.float32, name='x')
tensor_w = tf.Variable(tf.random.uniform((4, 3), minval=-20, maxval=20,
                       dtype=tf.float32), name='w') # w: weight
tensor_b = tf.Variable(tf.ones(3, dtype=tf.float32), name='b') # bias
print(tensor_x)
print(tensor_w)
print(tensor_b)

# In [16]:
# definimos las funciones de las que queremos calcular sus gradientes
# usaremos el atributo persistent=True para poder llamar varias veces a
#  GradientTape.gradient(). De lo contrario, sólo lo podemos llamar una vez
y_label = tf.constant([[1, 2, 3]], dtype=tf.float32)

with tf.GradientTape(persistent=True) as tape:
  tensor_y = tensor_x @ tensor_w + tensor_b #
  tensor_loss = tf.reduce_mean((tensor_y - y_label) **2 ) # dloss = mean(2*y) dy; dloss = (2*y[0] + 2*y[1] + 2*y[2])/3

print('tensor_y: ', tensor_y)# Usar torch.no_grad para evitar que se calcule el gradiente en los parámetros de la pérdida

print('tensor_loss: ', tensor_loss)

# In [17]:
# calculamos ahora varios gradientes

tensor_dy_dx = tape.gradient(tensor_y, tensor_x) # gradiente de y respecto a x (derivada de y_i respecto x_j y sumar en i). Es decir, es un vector cuyas
                                                #componenes son las sumas de las columnas de la matriz
                                                # jacobia previamente calculada, esto es, su primera componente es la suma de todas
                                                # las derivadas parciales respecto de x[0], y así sucesivamente
tensor_jac_dy_dx = tape.jacobian(tensor_y, tensor_x) # matriz jacobiana de y respecto a x
tensor_dloss_dy = tape.gradient(tensor_loss, tensor_y) # gradiente de loss respecto a y
tensor_dloss_dx = tape.gradient(tensor_loss, tensor_x) # gradiente de loss respecto a x

print('tensor_dy_dx: ', tensor_dy_dx)
print('jac_dy_dx: ', tensor_jac_dy_dx)
print('tensor_dloss_dy: ', tensor_dloss_dy)
print('tensor_dloss_dx: ', tensor_dloss_dx)
