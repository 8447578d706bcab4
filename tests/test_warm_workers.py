"""The warm worker pool, each check in a fresh process: forking needs a process without other
threads, which pytest's may have by now."""

import json
import subprocess
import sys
from pathlib import Path

CHECKS = r'''
import json, os, sys, time
from pathlib import Path
from bot.charts.workers import WarmWorkers, WorkerGone

log = Path(sys.argv[2])

def prepare():
    with log.open("a") as file:
        file.write(f"{os.getpid()}\n")
    time.sleep(0.3)  # a slow start-up (matplotlib's import): the clones must not pay it again

def who(index, delay):
    time.sleep(delay)
    return index, os.getpid(), os.getppid()

def fail():
    raise ValueError("from the task")

def unpicklable():
    return lambda: None

def die():
    os._exit(3)

def clones():
    pool = WarmWorkers(2, prepare)
    futures = [pool.submit(who, index, 0.2) for index in range(6)]
    answers = [future.result(timeout=30) for future in futures]
    pool.shutdown()
    left = [pid for _, pid, _ in answers if os.path.exists(f"/proc/{pid}")]  # a zombie is listed too
    return {"answers": answers, "prepared": log.read_text().split(), "main": os.getpid(), "left": left}

def idle_first():
    # One slow task holds a worker; the other worker takes every quick task after it.
    pool = WarmWorkers(2, prepare)
    slow = pool.submit(who, -1, 2.0)
    time.sleep(0.5)  # both ready by now
    quick = [pool.submit(who, index, 0.0) for index in range(8)]
    answers = [future.result(timeout=30) for future in quick]
    slow_pid = slow.result(timeout=30)[1]
    pool.shutdown()
    return {"quick_on_slow": sum(pid == slow_pid for _, pid, _ in answers), "order": [a[0] for a in answers]}

def failures():
    pool = WarmWorkers(2, prepare)
    errors = []
    for task in (fail, unpicklable, die):
        try:
            pool.submit(task).result(timeout=30)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    after = pool.submit(who, 7, 0.0).result(timeout=30)[0]  # the other worker is still there
    try:
        pool.submit(lambda: 1).result(timeout=30)  # a lambda cannot travel to a worker
    except Exception as exc:
        errors.append(type(exc).__name__)
    pool.shutdown()
    try:
        pool.submit(who, 8, 0.0)
    except RuntimeError as exc:
        errors.append(str(exc))
    return {"errors": errors, "after": after}

def all_gone():
    pool = WarmWorkers(2, prepare)
    first = [pool.submit(die) for _ in range(2)]
    waiting = [pool.submit(who, index, 0.0) for index in range(3)]
    outcomes = []
    for future in first + waiting:
        try:
            future.result(timeout=30)
            outcomes.append("answered")
        except WorkerGone as exc:
            outcomes.append(str(exc))
    started = time.monotonic()
    pool.shutdown()
    return {"outcomes": outcomes, "shutdown_seconds": time.monotonic() - started}

def cancelled():
    pool = WarmWorkers(1, prepare)
    running = pool.submit(who, 0, 1.0)
    queued = [pool.submit(who, index, 0.0) for index in range(1, 4)]
    time.sleep(0.5)
    pool.shutdown()  # waits for the running task, cancels the queued ones
    return {"running": running.result(timeout=1)[0], "queued": [future.cancelled() for future in queued]}

def ended(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

def closed():
    # close() tells the workers to end and returns; they end without anyone waiting for them.
    pool = WarmWorkers(2, prepare)
    pids = {pid for _, pid, _ in [future.result(timeout=30) for future in [pool.submit(who, i, 0.2) for i in range(4)]]}
    pool.close()
    try:
        pool.submit(who, 9, 0.0)
        refused = False
    except RuntimeError:
        refused = True
    deadline = time.monotonic() + 20
    while not all(ended(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    gone_unwaited = all(ended(pid) for pid in pids)
    pool.shutdown()
    return {"workers": len(pids), "refused": refused, "gone_unwaited": gone_unwaited,
            "left": [pid for pid in pids if os.path.exists(f"/proc/{pid}")]}

def collector():
    return os.getpid(), gc.isenabled(), gc.get_freeze_count()

def blas_threads():
    import numpy
    time.sleep(0.2)  # busy long enough that each worker gets tasks
    square = numpy.ones((300, 300))
    square @ square  # linear algebra: BLAS starts its threads now, if it may
    return os.getpid(), len(os.listdir("/proc/self/task"))

def chart_workers_blas():
    from bot.charts.pool import _start_worker
    os.environ["OPENBLAS_NUM_THREADS"] = "2"  # as a user's job may set it for the pipeline's steps
    pool = WarmWorkers(2, _start_worker)
    answers = [future.result(timeout=60) for future in [pool.submit(blas_threads) for _ in range(4)]]
    pool.shutdown()
    return {"threads": sorted({threads for _, threads in answers}), "pids": len({pid for pid, _ in answers}),
            "main": os.environ["OPENBLAS_NUM_THREADS"]}

def chart_workers():
    # The chart pool's own start-up: the collector paused while matplotlib loads, then set aside.
    import gc
    globals()["gc"] = gc
    from bot.charts.pool import _start_worker
    pool = WarmWorkers(2, _start_worker)
    futures = [pool.submit(collector) for _ in range(6)]
    states = [future.result(timeout=60) for future in futures]
    pool.shutdown()
    return {"enabled": all(on for _, on, _ in states),
            "frozen": min(frozen for _, _, frozen in states), "main": [gc.isenabled(), gc.get_freeze_count()]}

print(json.dumps(globals()[sys.argv[1]]()))
'''


def check(name: str, tmp_path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHECKS, name, str(tmp_path / "prepared")], capture_output=True,
                          text=True, cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_second_worker_is_forked_from_the_first_after_it_prepared(tmp_path):
    result = check("clones", tmp_path)
    (first,) = map(int, result["prepared"])  # prepared once, in the first worker only
    assert [answer[0] for answer in result["answers"]] == list(range(6))
    pids = {pid: parent for _, pid, parent in result["answers"]}
    assert set(pids) == {first, *(pid for pid in pids if pids[pid] == first)} and len(pids) == 2
    assert pids[first] == result["main"]
    assert result["left"] == []  # the first worker reaped its clone, the pool the first worker


def test_a_task_goes_to_an_idle_worker_never_behind_a_busy_one(tmp_path):
    result = check("idle_first", tmp_path)
    assert result["quick_on_slow"] == 0
    assert result["order"] == list(range(8))


def test_a_failing_task_its_answer_and_a_dead_worker_fail_only_that_task(tmp_path):
    result = check("failures", tmp_path)
    assert result["errors"][0] == "ValueError: from the task"
    assert result["errors"][1].startswith("RuntimeError: the answer could not be sent back")
    assert result["errors"][2] == "WorkerGone: a chart worker ended while it drew"
    assert result["errors"][3] in {"PicklingError", "AttributeError"}
    assert result["errors"][4] == "cannot submit after close"
    assert result["after"] == 7


def test_when_every_worker_is_gone_the_waiting_tasks_fail_and_nothing_hangs(tmp_path):
    result = check("all_gone", tmp_path)
    assert result["outcomes"][:2] == ["a chart worker ended while it drew"] * 2
    assert result["outcomes"][2:] == ["no chart worker is left"] * 3
    assert result["shutdown_seconds"] < 5


def test_shutdown_waits_for_the_running_task_and_cancels_the_queued(tmp_path):
    result = check("cancelled", tmp_path)
    assert result == {"running": 0, "queued": [True, True, True]}


def test_closed_workers_end_without_being_waited_for_and_shutdown_reaps_them(tmp_path):
    result = check("closed", tmp_path)
    assert result == {"workers": 2, "refused": True, "gone_unwaited": True, "left": []}


def test_chart_workers_collect_again_after_their_start_with_what_it_loaded_set_aside(tmp_path):
    result = check("chart_workers", tmp_path)
    assert result["enabled"] and result["frozen"] > 10_000  # matplotlib's objects, in both workers
    assert result["main"] == [True, 0]  # this process's collector is its own


def test_chart_workers_load_numpy_without_blas_threads_and_leave_the_pipelines_setting_alone(tmp_path):
    result = check("chart_workers_blas", tmp_path)
    assert result["threads"] == [1] and result["pids"] == 2
    assert result["main"] == "2"
