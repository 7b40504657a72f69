"""Dask under tensors (issue 16): a tensor of a Dask array is a lazy computation; ops, ``backward``
and ``grad`` only extend the task graph, and nothing runs until the values are asked for
(``.numpy()``, ``np.asarray``, ``cr.compute``). The values then equal NumPy's. The last tests run
the gradients on a ``dask.distributed`` LocalCluster of two workers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.backend import MixedLibrariesError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402

N, D, CHUNK = 240, 6, 60
RNG = np.random.default_rng(16)
X = RNG.standard_normal((N, D))
W = RNG.standard_normal(D) * 0.3
Y_REG = X @ W + 0.1 * RNG.standard_normal(N)
Y_CLS = np.where(X @ W + 0.2 * RNG.standard_normal(N) > 0, 1.0, -1.0)


#: Chunk computations per Counted array. A module-level function and dict, not a bound method:
#: dask.distributed pickles tasks, and in-process workers (processes=False) unpickle a module
#: function by reference, so the counts they make land here.
_CALLS: dict[int, int] = {}
_CALLS_LOCK = threading.Lock()


def _seen(block: np.ndarray, key: int) -> np.ndarray:
    with _CALLS_LOCK:
        _CALLS[key] = _CALLS.get(key, 0) + 1
    return block


class Counted:
    """A chunked Dask array of ``values`` whose chunks count how often they are computed."""

    _next = 0

    def __init__(self, values: np.ndarray, chunks: tuple[int, ...]) -> None:
        Counted._next += 1
        self.key = Counted._next
        # (meta= given: otherwise map_blocks calls the function once on an empty block to find it)
        meta = np.empty((0,) * values.ndim, dtype=values.dtype)
        self.array = da.from_array(values, chunks=chunks).map_blocks(_seen, key=self.key, meta=meta)

    @property
    def calls(self) -> int:
        return _CALLS.get(self.key, 0)


class TaskCounter(Callback):
    """Counts the tasks the local schedulers run (Dask's scheduler callbacks)."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0

    def _pretask(self, key, dsk, state) -> None:
        self.tasks += 1


def _is_dask(t) -> bool:
    return type(t._data).__module__.startswith("dask")


def _least_squares(Xt, yt):
    def loss(w):
        r = cr.matmul(Xt, w) - yt
        return cr.mean(r * r)

    return loss


def _logistic(Xt, yt):
    def loss(w):
        return cr.mean(cr.softplus(-yt * cr.matmul(Xt, w)))

    return loss


def _ls_grad_numpy(w):
    # d/dw mean((Xw - y)^2) = 2 X^T (Xw - y) / n
    return 2.0 * X.T @ (X @ w - Y_REG) / N


def _logistic_grad_numpy(w):
    # d/dw mean(softplus(-y Xw)) = -X^T (y sigmoid(-y Xw)) / n
    z = -Y_CLS * (X @ w)
    return -X.T @ (Y_CLS / (1.0 + np.exp(-z))) / N


# ---------------------------------------------------------------- laziness
def test_a_dask_tensor_and_its_ops_stay_lazy() -> None:
    data = Counted(X, (CHUNK, D))
    with TaskCounter() as counter:
        x = cr.tensor(data.array, requires_grad=True)
        y = cr.sin(x) * x + cr.exp(-x * x)
        s = cr.sum(y, axis=0)
        assert _is_dask(x) and _is_dask(y) and _is_dask(s)
        assert "lazy dask array" in repr(s)  # printing computes nothing either
        assert data.calls == 0 and counter.tasks == 0
    with TaskCounter() as counter:
        got = s.numpy()
    assert counter.tasks > 0 and data.calls == N // CHUNK
    np.testing.assert_allclose(got, np.sum(np.sin(X) * X + np.exp(-X * X), axis=0), rtol=1e-12)


def test_backward_builds_a_lazy_gradient() -> None:
    data = Counted(X, (CHUNK, D))
    x = cr.tensor(data.array, requires_grad=True)
    loss = cr.sum(cr.tanh(x) * x)
    with TaskCounter() as counter:
        loss.backward()
        assert counter.tasks == 0
    assert data.calls == 0 and _is_dask(x.grad)
    assert x.grad._data.chunks == data.array.chunks
    # d/dx tanh(x) x = tanh(x) + x (1 - tanh(x)^2)
    np.testing.assert_allclose(np.asarray(x.grad), np.tanh(X) + X * (1 - np.tanh(X) ** 2), rtol=1e-12)
    assert data.calls > 0


def test_autograd_grad_and_detach_keep_dask_arrays() -> None:
    data = Counted(X, (CHUNK, D))
    x = cr.tensor(data.array, requires_grad=True)
    y = cr.exp(x * 0.5)
    (gx,) = cr.autograd.grad(y, x, grad_outputs=cr.tensor(da.ones_like(data.array)))
    d = y.detach()
    assert _is_dask(gx) and _is_dask(d) and not d.requires_grad and data.calls == 0
    np.testing.assert_allclose(gx.numpy(), 0.5 * np.exp(0.5 * X), rtol=1e-13)


def test_second_order_on_dask_stays_lazy() -> None:
    data = Counted(X[:12, :3], (4, 3))
    x = cr.tensor(data.array)
    with TaskCounter() as counter:
        h = cr.grad(lambda t: cr.sum(cr.grad(lambda u: cr.sum(cr.sin(u) * u))(t)))(x)
        assert counter.tasks == 0 and _is_dask(h)
    a = X[:12, :3]
    # d/dx of d/dx (x sin x) = d/dx (sin x + x cos x) = 2 cos x - x sin x
    np.testing.assert_allclose(h.numpy(), 2 * np.cos(a) - a * np.sin(a), rtol=1e-12)


@pytest.mark.parametrize(
    "make_loss, reference, target",
    [(_least_squares, _ls_grad_numpy, Y_REG), (_logistic, _logistic_grad_numpy, Y_CLS)],
    ids=["least_squares", "logistic"],
)
def test_grad_over_a_chunked_dataset_is_lazy_and_equals_numpy(make_loss, reference, target) -> None:
    data = Counted(X, (CHUNK, D))
    loss = make_loss(cr.tensor(data.array), cr.tensor(da.from_array(target, chunks=CHUNK)))
    w0 = cr.tensor(da.from_array(W * 0.5, chunks=D))
    with TaskCounter() as counter:
        value, g = cr.value_and_grad(loss)(w0)
        assert counter.tasks == 0
    assert data.calls == 0 and _is_dask(value) and _is_dask(g) and g.shape == (D,)
    v_np, g_np = cr.compute(value, g)  # one pass over the data for both
    assert isinstance(g_np, np.ndarray)
    assert data.calls == N // CHUNK
    np.testing.assert_allclose(g_np, reference(W * 0.5), rtol=1e-10, atol=1e-13)
    ref_loss = make_loss(cr.tensor(X), cr.tensor(target))(cr.tensor(W * 0.5))
    np.testing.assert_allclose(v_np, ref_loss.numpy(), rtol=1e-12)


def test_compute_takes_any_tensors_and_computes_dask_ones_in_one_pass() -> None:
    data = Counted(X, (CHUNK, D))
    x = cr.tensor(data.array)
    a, b, c = cr.compute(cr.sum(x), cr.mean(x, axis=0), cr.tensor([1.0, 2.0]))
    assert data.calls == N // CHUNK  # the shared chunks are computed once
    np.testing.assert_allclose(a, X.sum(), rtol=1e-12)
    np.testing.assert_allclose(b, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(c, [1.0, 2.0])


def test_mixing_a_numpy_array_with_a_dask_tensor_names_both() -> None:
    x = cr.tensor(da.from_array(X, chunks=(CHUNK, D)))
    with pytest.raises(MixedLibrariesError, match=r"matmul: .*dask \(Array of shape \(240, 6\)\) and numpy \(ndarray of shape \(6,\)\)"):
        cr.matmul(x, cr.tensor(W))
    with pytest.raises(MixedLibrariesError, match="numpy.*dask|dask.*numpy"):
        x * X
    out = x * np.float64(2.0)  # a NumPy scalar mixes, as a Python number does
    assert _is_dask(out)


# ---------------------------------------------------------------- a LocalCluster
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    # Worker processes: a worker's memory limit is checked against its process's resident size,
    # so in-process workers (processes=False) would measure the whole test process and pause
    # once it has grown past the limit, leaving every computation waiting.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
        dashboard_address=None, silence_logs=50,
    )  # fmt: skip
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_gradients_on_a_local_cluster(client) -> None:
    from distributed import get_task_stream

    with get_task_stream(client) as building:
        loss = _logistic(cr.tensor(da.from_array(X, chunks=(CHUNK, D))), cr.tensor(da.from_array(Y_CLS, chunks=CHUNK)))
        g = cr.grad(loss)(cr.tensor(da.zeros(D, chunks=D)))
    assert _is_dask(g) and len(building.data) == 0  # nothing ran on the cluster yet
    with get_task_stream(client) as stream:
        got = g.numpy()
    assert len(stream.data) > 0  # the cluster ran it
    np.testing.assert_allclose(got, _logistic_grad_numpy(np.zeros(D)), rtol=1e-10, atol=1e-13)


def test_gradient_descent_steps_on_a_local_cluster(client) -> None:
    Xt = cr.tensor(da.from_array(X, chunks=(CHUNK, D)))
    loss = _least_squares(Xt, cr.tensor(da.from_array(Y_REG, chunks=CHUNK)))
    w_np = np.zeros(D)
    ref = np.zeros(D)
    losses = []
    for _ in range(4):
        value, g = cr.value_and_grad(loss)(cr.asarray(w_np, like=Xt))  # the small parameter to Dask
        v, g_np = cr.compute(value, g)
        losses.append(float(v))
        w_np = w_np - 0.1 * g_np
        ref = ref - 0.1 * _ls_grad_numpy(ref)
    np.testing.assert_allclose(w_np, ref, rtol=1e-10, atol=1e-13)
    assert losses == sorted(losses, reverse=True)  # a descent step lowers a convex loss here
