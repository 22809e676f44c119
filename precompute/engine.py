"""Engines: run one function over a stream of chunks, on every core or on a Dask cluster.

An engine calls `function(context, item)` for each item and yields the results in item order,
holding only a few items in flight (so memory does not grow with the input). The context (the
boundaries, the classification...) reaches each worker once: the local engine pickles it to a
file its worker processes load once each; the Dask engine broadcasts it with `scatter`. Both run
the very same function: there is one pipeline, whatever runs it.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import functools
import itertools
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from crimetiles.artifact.errors import CrimetilesError

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")
EngineName = Literal["local", "dask"]
IN_FLIGHT_PER_WORKER = 2
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEPT_FREE_BYTES = 1 << 30
HEAP_ARRAY_BYTES = 32 << 20


class Engine(Protocol):
    def map(self, function: Callable[[C, T], R], context: C, items: Iterable[T]) -> Iterator[R]: ...

    def release(self) -> None:
        """Let the workers go, with the memory they hold, without waiting for them (`close` waits)."""
        ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def keep_freed_memory() -> None:
    """Let glibc's allocator reuse the memory a chunk frees for the next chunk: arrays up to
    HEAP_ARRAY_BYTES come from the heap rather than from a fresh mapping each, and up to
    KEPT_FREE_BYTES freed at the heap's top stay with the process. By default every array over
    128 KiB is mapped and unmapped, and the first touch of each page costs a fault: a fifth of a
    counting pass's CPU went to the kernel. Nothing happens with another C library."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None and hasattr(libc, "gnu_get_libc_version"):
        mallopt(M_MMAP_THRESHOLD, HEAP_ARRAY_BYTES)
        mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)


WORKER_MODULES = ["crimetiles.precompute.tally"]
"""The modules a worker's tasks need: the pipeline (half a second of imports)."""


def worker_context() -> BaseContext:
    """How worker processes start: forked from a fork server, one process that imports the
    pipeline once (WORKER_MODULES) and holds no thread, so that no worker imports it again; not
    forked from the build process, which runs Arrow's and pandas' threads. Spawned (each worker
    importing the pipeline) where there is no fork server (Windows)."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return context


def start_worker_server() -> None:
    """Start the fork server now (see `worker_context`): it imports the pipeline while this process
    imports the command, and a build's first chunk waits for neither."""
    if worker_context().get_start_method() == "forkserver":
        forkserver.ensure_running()


def stop_worker_server() -> None:
    """Stop the fork server and wait for it, if one runs. Its workers are its children, not this
    process's: waited for, their CPU time counts among this process's children's (as a benchmark
    measures it), and a server left running would outlive the build. The next pool starts another."""
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)  # Python's own stop, used by its tests
    if stop is not None:
        stop()


class LocalEngine:
    """Worker processes on this machine (`workers`, default every core). A stream of a single
    item runs in this process: starting workers would cost more than it saves. Each worker
    imports the main module as a spawned one does (`worker_context`), so a script that calls
    `run_build` needs the usual `if __name__ == "__main__":` guard (the `crimetiles` command has it)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        self._stopping: threading.Thread | None = None
        self._scratch: Path | None = None

    def describe(self) -> str:
        return f"local engine, {self.workers} worker process(es)"

    def map(self, function: Callable[[C, T], R], context: C, items: Iterable[T]) -> Iterator[R]:
        stream = iter(items)
        first = list(itertools.islice(stream, 2))
        if self.workers <= 1 or len(first) < 2:
            yield from (function(context, item) for item in itertools.chain(first, stream))
            return
        path = self._write_context(context)
        try:
            submit = functools.partial(self._executor().submit, _call_with_context, function, path)
            yield from _ordered(submit, itertools.chain(first, stream), IN_FLIGHT_PER_WORKER * self.workers)
        finally:
            path.unlink(missing_ok=True)

    def release(self) -> None:
        """The workers and their fork server are stopped by a thread of this process, while it goes
        on: the server's own exit (tearing down its imports) takes a sixth of a second."""
        if self._pool is not None:
            self._stopping = threading.Thread(target=_stop_workers, args=(self._pool,), name="crimetiles-workers-stop")
            self._stopping.start()
            self._pool = None

    def close(self) -> None:
        self.release()
        if self._stopping is not None:
            self._stopping.join()
            self._stopping = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=worker_context(), initializer=keep_freed_memory)
        return self._pool

    def _write_context(self, context: Any) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="crimetiles-engine-"))
        handle, name = tempfile.mkstemp(suffix=".pickle", dir=self._scratch)
        with os.fdopen(handle, "wb") as file:
            pickle.dump(context, file, protocol=pickle.HIGHEST_PROTOCOL)
        return Path(name)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(cancel_futures=True)
    stop_worker_server()


@functools.lru_cache(maxsize=2)
def _context_at(path: Path) -> Any:
    """A context as each worker process loads it: once per process and context."""
    with path.open("rb") as file:
        return pickle.load(file)


def _call_with_context(function: Callable[[Any, T], R], path: Path, item: T) -> R:
    return function(_context_at(path), item)


def _ordered(submit: Callable[[T], Any], items: Iterable[T], in_flight: int) -> Iterator[Any]:
    """Results of `submit(item)` futures in item order, at most `in_flight` submitted ahead."""
    window: collections.deque[Any] = collections.deque()
    try:
        for item in items:
            window.append(submit(item))
            if len(window) >= in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        for future in window:
            future.cancel()


class MissingExtra(CrimetilesError):
    """A feature needs an optional dependency (a pip extra) that is not installed."""


class DaskEngine:
    """A Dask cluster: the scheduler at `scheduler` (e.g. `tcp://10.0.0.5:8786`), else a
    `LocalCluster` of `workers` processes on this machine. The workers need crimetiles installed
    and must be able to read the incident files at the paths given (Parquet chunks are read by
    the workers; CSV and other formats are read here and sent)."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, processes: bool = True) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise MissingExtra(
                f"--engine dask needs Dask, which is not installed ({exc}): install crimetiles with its dask extra "
                "(pip install '.[dask]' in a clone, or 'crimetiles-0.1.0-py3-none-any.whl[dask]')"
            ) from None

        self._cluster = None
        if scheduler:
            self._client = Client(scheduler)
        else:
            self._cluster = LocalCluster(
                n_workers=workers or default_workers(), threads_per_worker=1, processes=processes, dashboard_address=None
            )
            self._client = Client(self._cluster)
        self.workers = max(sum(self._client.nthreads().values()), 1)
        self.scheduler = scheduler

    def describe(self) -> str:
        where = f"scheduler {self.scheduler}" if self.scheduler else "a local cluster"
        return f"Dask engine, {where}, {self.workers} worker thread(s)"

    def map(self, function: Callable[[C, T], R], context: C, items: Iterable[T]) -> Iterator[R]:
        shared = self._client.scatter(context, broadcast=True, hash=False)
        try:
            submit = functools.partial(self._client.submit, function, shared, pure=False)
            yield from _ordered(submit, items, IN_FLIGHT_PER_WORKER * self.workers)
        finally:
            self._client.cancel([shared])

    def release(self) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_engine(name: EngineName, scheduler: str | None = None, workers: int | None = None) -> Engine:
    """`local` (worker processes here) or `dask` (a cluster; a local one without `scheduler`)."""
    if name == "dask":
        return DaskEngine(scheduler, workers)
    return LocalEngine(workers)
