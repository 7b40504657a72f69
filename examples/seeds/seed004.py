"""Seed 004 ("Реализация автоматического дифференцирования"), run on chainrule.

The seed's code cells, in order, with only the import changed: ``from chainrule import tf`` in
place of ``import tensorflow as tf``. Each cell starts with a comment naming its ``In [n]``.
Cell 27 raises in the notebook (a second gradient on a non-persistent tape); here the error
is caught and printed as the notebook shows it, so that the later cells run.

    python examples/seeds/seed004.py
"""

# In [18]:
import os

os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'

from chainrule import tf  # noqa: E402 - after the environment line, as in the seed

x = tf.Variable(-2.0)

with tf.GradientTape() as tape: #GradientTape "запоминает" промежуточные вычисления для функции y = x^2
    y = x ** 2

df = tape.gradient(y, x)
print(df, end = '\n\n')

# In [19]:
w = tf.Variable(tf.random.normal((3, 2)))
b = tf.Variable(tf.ones(2, dtype = tf.float32))
x = tf.Variable([[-2.0, 1.0, 3.0]])

#print(w,b,x,sep='\n\n')

with tf.GradientTape() as tape: #GradientTape "запоминает" промежуточные вычисления для функции y = x^2
    y = x @ w + b
    loss = tf.reduce_mean(y ** 2)

df = tape.gradient(loss, [w, b])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# In [20]:
x = tf.Variable(-2.0, trainable = False) # trainable = False запрещает вычислять производную
b = tf.constant(1.5) # Константа!

with tf.GradientTape() as tape: #GradientTape "запоминает" промежуточные вычисления для функции y = x^2
    y = (x + b) ** 2 + 2*x*b

df = tape.gradient(y, [x, b])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# In [21]:
x = tf.Variable(-2.0)
b = tf.Variable(1.5)

with tf.GradientTape() as tape:
    y = (x + b) ** 2 + 2*x*b

df = tape.gradient(y, [x, b])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# In [22]:
x = tf.Variable(-2.0)
b = tf.Variable(1.5) + 1.0 #Тип изменился на константный!

with tf.GradientTape() as tape:
    y = (x + b) ** 2 + 2*x*b

df = tape.gradient(y, [x, b])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# In [23]:
x = tf.Variable(-2.0)
b = tf.Variable(1.5)

with tf.GradientTape(watch_accessed_variables = False) as tape: #отключает запоминание вычислений
    tape.watch(x) # явно указываем вычисление каких переменных запоминать
    y = (x + b) ** 2 + 2*x*b

df = tape.gradient(y, [x, b])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# In [24]:
x = tf.Variable(-2.0)


with tf.GradientTape(watch_accessed_variables = False) as tape:
    tape.watch(x)
    y = 2*x
    f = y**2

df = tape.gradient(f, [y, x])
print(df[0], df[1], sep = '\n\n', end = '\n\n')

# Так как мы указали, что необходимо отслеживать х, а у явно зависит от х, то и y тоже будет отслежен.

# In [27]:
try:  # the notebook shows this cell's error; the script prints it and goes on
    x = tf.Variable(-2.0)

    with tf.GradientTape(watch_accessed_variables = False) as tape:
        tape.watch(x)
        y = 2*x
        f = y**2

    df_1 = tape.gradient(f, x) # метод автоматически высвобождает все ресурсы, которые были запомнены GradientTape.
    df_2 = tape.gradient(f, y)
    print(df_1, df_2, sep = '\n\n', end = '\n\n')
except RuntimeError as error:
    print(f"{type(error).__name__}: {error}")

# In [26]:
x = tf.Variable(-2.0)


with tf.GradientTape(watch_accessed_variables = False, persistent = True) as tape: # persistent = True: градиент не высвобождает ресурсы
    tape.watch(x)
    y = 2*x
    f = y**2

df_1 = tape.gradient(f, x)
df_2 = tape.gradient(f, y)
print(df_1, df_2, sep = '\n\n', end = '\n\n')

#но теперь сохраненные ресурсы надо освободить, это делается с помощью del
del tape

# In [28]:
x = tf.Variable(3.0)

with tf.GradientTape() as tape:
    y = [2., 3.] * x ** 2

df = tape.gradient(y, x)
print(df, end = '\n\n')

# почему такой результат?

# In [29]:
x = tf.Variable([1.0, 2.0])

with tf.GradientTape() as tape:
    y = tf.reduce_sum([2.0, 3.0] * x ** 2)

df = tape.gradient(y, x)
print(df, end = '\n\n')

# обратная ситуация
