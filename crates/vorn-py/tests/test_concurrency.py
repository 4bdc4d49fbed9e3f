"""GIL release, Ctrl-C (in a subprocess) and progress logging."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import vorn
from conftest import make_blobs


def test_gil_is_released_during_fit():
    rng = np.random.default_rng(0)
    # ~15 GFLOP on one thread: >= 0.05 s even on a quiet AVX-512 core (20k x 32, k = 64 took 0.04 s).
    x = rng.standard_normal((80_000, 64)).astype(np.float32)
    ticks = 0
    stop = threading.Event()

    def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    try:
        time.sleep(0.02)
        before = ticks
        t0 = time.perf_counter()
        vorn.KMeans(128, algorithm="lloyd", tol=0.0, max_iter=10, n_threads=1).fit(x)
        elapsed = time.perf_counter() - t0
        during = ticks - before
    finally:
        stop.set()
        th.join()
    assert elapsed > 0.05, "fit too fast to measure; enlarge the data"
    # With the GIL held the ticker could not run at all; released, it ticks ~every ms.
    assert during >= 0.25 * elapsed / 0.0011, (during, elapsed)


def test_concurrent_fits_from_threads_are_correct():
    x, _ = make_blobs(n=2000, d=8, k=4, seed=5)
    ref = vorn.KMeans(6, random_state=1).fit(x)
    results = [None] * 4

    def work(i):
        results[i] = vorn.KMeans(6, random_state=1, n_threads=1).fit(x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for km in results:
        assert km.cluster_centers_.tobytes() == ref.cluster_centers_.tobytes()


CHILD = textwrap.dedent(
    """
    import logging, signal, sys, time
    import numpy as np
    import vorn

    # A process started in the background by a non-interactive shell (a CI runner's `cmd &`)
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: restore
    # Python's own, as an interactive session has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class Flush(logging.Handler):
        def emit(self, record):
            print("LOG", record.getMessage(), flush=True)

    logging.getLogger("vorn").addHandler(Flush())
    logging.getLogger("vorn").setLevel(logging.INFO)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100_000, 32)).astype(np.float32)
    km = vorn.KMeans(256, algorithm="lloyd", init="random", tol=0.0, max_iter=100_000,
                     verbose=True)
    try:
        km.fit(x)
        print("FINISHED", flush=True)
    except KeyboardInterrupt:
        print("INTERRUPTED", time.time(), flush=True)
        print("FITTED", hasattr(km, "cluster_centers_"), flush=True)
        # The estimator stays usable.
        km.set_params(n_clusters=3, max_iter=5, verbose=False).fit(x[:1000])
        print("REFIT", km.cluster_centers_.shape, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_fit_within_a_second_and_leaves_it_unfitted():
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        seen = []
        while True:  # wait until the Lloyd loop runs (iterations are being logged)
            line = proc.stdout.readline()
            assert line, "".join(seen) + proc.stderr.read()
            seen.append(line)
            if "iter 2 " in line:
                break
        sent = time.time()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        text = "".join(seen) + out
        assert "FINISHED" not in text
        assert "PanicException" not in err
        assert proc.returncode == 0, err
        stamp = [ln for ln in out.splitlines() if ln.startswith("INTERRUPTED")]
        assert stamp, text + err
        latency = float(stamp[0].split()[1]) - sent
        assert latency < 1.5, latency
        assert "FITTED False" in out
        assert "REFIT (3, 32)" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_verbose_logs_progress(caplog, x_small):
    caplog.set_level(logging.INFO, logger="vorn")
    km = vorn.KMeans(3, verbose=True, tol=0.0).fit(x_small)
    msgs = [r.getMessage() for r in caplog.records if r.name == "vorn"]
    assert any("phase init" in m for m in msgs)
    assert any("phase iterate" in m for m in msgs)
    iters = [m for m in msgs if " iter " in m and "objective" in m and "moved" in m]
    assert len(iters) == len(km.iteration_stats_)
    assert any("done" in m for m in msgs)
    # Progress is emitted on the calling thread.
    assert {r.thread for r in caplog.records if r.name == "vorn"} == {threading.get_ident()}


def test_quiet_by_default(caplog, x_small):
    caplog.set_level(logging.DEBUG, logger="vorn")
    vorn.KMeans(3).fit(x_small)
    assert not [r for r in caplog.records if r.name == "vorn"]


def test_logging_handler_error_cancels_fit(x_small):
    logger = logging.getLogger("vorn")

    class Boom(logging.Handler):
        def emit(self, record):
            # Raised from a progress event delivered by the native loop (not from the
            # Python-side "fitting ..." line); SystemExit is not swallowed by handleError.
            if "phase" in record.getMessage():
                raise SystemExit("handler failed")

    h = Boom()
    logger.addHandler(h)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        km = vorn.KMeans(3, verbose=True)
        with pytest.raises(SystemExit):
            km.fit(x_small)
        assert not hasattr(km, "labels_")
    finally:
        logger.removeHandler(h)
        logger.setLevel(old)


def test_seeding_steps_are_reported_per_run_and_change_nothing():
    from vorn import _vorn

    x = make_blobs(n=2000, d=6, k=5, seed=3)[0]
    events = []
    args = dict(n_init=2, seed=4, local_search=5)
    m = _vorn.fit(x, 16, progress=lambda kind, p: events.append((kind, p)),
                  progress_interval=0.0, **args)
    steps = [p for kind, p in events if kind == "steps"]
    for run in (0, 1):
        seeding = [s["done"] for s in steps if s["run"] == run and s["task"] == "k-means++"]
        assert seeding == list(range(1, 17))
        swaps = [s for s in steps if s["run"] == run and s["task"] == "local search"]
        assert swaps and all(s["total"] == 5 for s in swaps)
        assert swaps[-1]["done"] == 5
    # Steps come inside the init phase, before that run's iterations.
    kinds = [kind for kind, _ in events]
    assert kinds.index("steps") > kinds.index("phase")
    quiet = _vorn.fit(x, 16, **args)
    assert np.array_equal(np.asarray(quiet.centroids), np.asarray(m.centroids))
    # The default interval (1 s) reports nothing for a seeding this short.
    events.clear()
    _vorn.fit(x, 16, progress=lambda kind, p: events.append((kind, p)), **args)
    assert not [e for e in events if e[0] == "steps"]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_progress_interval_must_be_a_finite_non_negative_time(bad):
    from vorn import _vorn

    x = make_blobs(n=100, d=3, k=2, seed=0)[0]
    with pytest.raises(ValueError, match="progress_interval"):
        _vorn.fit(x, 2, progress=lambda *a: None, progress_interval=bad)


def test_verbose_logs_seeding_steps(caplog):
    caplog.set_level(logging.INFO, logger="vorn")
    from vorn import _progress

    _progress.reporter("KMeans")("steps", {"run": 1, "task": "k-means++", "done": 7,
                                           "total": 64})
    assert "KMeans: run 1 k-means++ 7/64" in [r.getMessage() for r in caplog.records]


def test_short_fits_on_the_calling_thread_match_the_interruptible_path(x_small):
    # A short fit runs on the calling thread; with progress (verbose) it goes through the
    # worker thread that polls for Ctrl-C. Same bits either way, errors included.
    for k in (3, 5):
        quick = vorn.KMeans(k, random_state=4).fit(x_small)
        polled = vorn.KMeans(k, random_state=4, verbose=True).fit(x_small)
        assert quick.cluster_centers_.tobytes() == polled.cluster_centers_.tobytes()
        assert (quick.labels_ == polled.labels_).all()
        assert quick.inertia_ == polled.inertia_
    bad = x_small.copy()
    bad[7, 2] = np.nan
    for verbose in (False, True):
        with pytest.raises(ValueError, match="NaN"):
            vorn.KMeans(3, verbose=verbose).fit(bad)
