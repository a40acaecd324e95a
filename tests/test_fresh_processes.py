"""Chunks of work in brand-new processes (mmhelpers.fresh_processes): callable from any caller,
results in order, and a failing chunk stops the build at once with its own error."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from mmhelpers.embedded import build, fresh_processes, plan, speech
from mmhelpers.embedded.fresh_processes import ChunkFailed, FreshProcesses

WORKERS = '''
import os, time

class Odd(Exception):
    def __init__(self, a, b):  # not constructible from one message
        super().__init__(a, b)

def square(x):
    return x * x

def pid_and_parent(_):
    return os.getpid(), os.getppid()

def crash():
    os.abort()

def refuse(x):
    raise ValueError(f"no {x}")

def odd():
    raise Odd(1, 2)

def slow():
    time.sleep(60)
'''

USER_SCRIPT = """\
from mmhelpers.data import load_pairs
d = load_pairs("test")
print(len(d))
"""


@pytest.fixture
def workers(tmp_path, monkeypatch):
    """A module of small worker functions, importable here and in the child processes."""
    (tmp_path / "mm_test_workers.py").write_text(WORKERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    import mm_test_workers

    return mm_test_workers


def _children() -> set[int]:
    """Live child processes of this one (Linux)."""
    pids = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids |= {int(p) for p in f.read().split()}
    return {p for p in pids if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"}


@pytest.mark.slow
@pytest.mark.parametrize("guard", [False, True], ids=["no-main-guard", "main-guard"])
def test_a_users_script_builds_the_data_on_a_cold_cache(tmp_path, guard):
    """The reported hang: a plain script file that loads the data at import time."""
    body = USER_SCRIPT if not guard else "if __name__ == '__main__':\n" + textwrap.indent(USER_SCRIPT, "    ")
    script = tmp_path / "user_script.py"
    script.write_text(body)
    env = dict(os.environ, MM_QUICK="1", MM_CACHE_DIR=str(tmp_path / "empty-cache"))
    env.pop("MM_DATA", None)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(plan.QUICK_SIZES["test"])
    assert "bootstrapping" not in out.stderr


@pytest.mark.slow
def test_a_failing_chunk_stops_the_build_promptly_and_names_the_chunk(monkeypatch):
    """An unknown voice in the second chunk: the build raises the worker's own error at once (the
    first chunk, still speaking, is killed), and no process is left behind."""
    make_plan = build.make_plan

    def plan_with_a_bad_voice(*args, **kwargs):
        result = make_plan(*args, **kwargs)
        result["voice"] = result["voice"].astype(object)
        result["voice"][plan.SPEECH_CHUNK + 50] = "en-us+nosuchvoice"
        return result

    monkeypatch.setattr(build, "make_plan", plan_with_a_bad_voice)
    before = _children()
    t0 = time.perf_counter()
    n = plan.SPEECH_CHUNK + 100
    with pytest.raises(ValueError, match=r"(?s)synthesis chunk 2 of 2 \(train pairs 1000-1099\).*en-us\+nosuchvoice"):
        build.build("train", n)
    assert time.perf_counter() - t0 < 60  # a hang would never get here; a healthy failure takes ~2 s
    assert _children() <= before


def test_results_come_in_job_order_from_new_processes(workers):
    jobs = [(x,) for x in range(7)]
    assert fresh_processes.run(workers.square, jobs, workers=3) == [x * x for x in range(7)]
    pids = fresh_processes.run(workers.pid_and_parent, jobs, workers=2)
    assert len({pid for pid, _ in pids}) == 7 and {parent for _, parent in pids} == {os.getpid()}
    assert os.getpid() not in {pid for pid, _ in pids}


def test_a_thread_can_run_chunks(workers):
    out = {}
    thread = threading.Thread(target=lambda: out.update(r=fresh_processes.run(workers.square, [(3,), (4,)])))
    thread.start()
    thread.join(120)
    assert out["r"] == [9, 16]


def test_errors_come_back_with_their_type_and_the_chunk(workers):
    with pytest.raises(ValueError, match=r"(?s)part B failed in its worker process.*ValueError: no 2.*Traceback"):
        fresh_processes.run(workers.refuse, [(2,)], labels=["part B"])
    with pytest.raises(ChunkFailed, match=r"chunk 1 of 1 failed in its worker process.*Odd: \(1, 2\)"):
        fresh_processes.run(workers.odd, [()])


def test_a_crashed_worker_fails_promptly_and_kills_the_others(workers):
    before = _children()
    t0 = time.perf_counter()
    with pytest.raises(ChunkFailed, match=r"(?s)chunk [12] of 2 failed: its process ended with exit code -?\d+ and no result"):
        with FreshProcesses(workers.slow, [()], workers=2) as slow, \
                FreshProcesses(workers.crash, [(), ()], workers=2) as crashing:
            list(crashing)
            list(slow)
    assert time.perf_counter() - t0 < 30  # not the slow worker's 60 s
    assert _children() <= before


def test_argument_errors(workers):
    with pytest.raises(ValueError, match="workers"):
        FreshProcesses(workers.square, [(1,)], workers=0)
    with pytest.raises(ValueError, match="labels"):
        FreshProcesses(workers.square, [(1,)], labels=["a", "b"])
    with pytest.raises(ValueError, match="module-level"):
        FreshProcesses(lambda: 1, [()])


@pytest.mark.skipif(not speech.available(), reason="libespeak-ng (espeakng-loader) not installed")
def test_a_fresh_chunk_speaks_as_a_new_interpreter_does(tmp_path):
    """The guarantee behind byte-identical builds: a chunk's clips are what a brand-new process
    speaks, whatever this process has spoken before."""
    utts = [speech.Utterance(w, "en-gb-x-rp+klatt3", seed=5) for w in ("zero", "eight", "three")]
    speech.synthesise(utts)  # give this process a history
    code = ("import sys, numpy as np; from mmhelpers.embedded import speech; "
            "u = [speech.Utterance(w, 'en-gb-x-rp+klatt3', seed=5) for w in ('zero', 'eight', 'three')]; "
            "np.savez(sys.argv[1], *speech.synthesise(u))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "ref.npz")], check=True)
    reference = np.load(tmp_path / "ref.npz")
    fresh = speech.synthesise_fresh(utts, workers=1)
    assert all(np.array_equal(a, reference[f"arr_{i}"]) for i, a in enumerate(fresh))
