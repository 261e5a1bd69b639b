"""Scheduler without workers: the real SQLite store, submission checks,
admission policy, time parsing, corruption recovery, fan-out choice."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from lqmf.tools import scheduler
from lqmf.tools.errors import ImpossibleJob, InvalidInput, ModelNotFound, UnknownQuantType
from lqmf.tools.scheduler import admission
from lqmf.tools.scheduler.fanout import Criterion, Strategy, pick
from lqmf.tools.scheduler.jobs import Job, JobKind, JobState, Needs, Priority
from lqmf.tools.scheduler.resources import Budget, parse_size
from lqmf.tools.scheduler.store import JobStore
from lqmf.tools.scheduler.timeparse import parse_when

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_submit_roundtrip_and_list(home):
    a = scheduler.submit("sleep", {"seconds": 0.1}, priority="high")
    b = scheduler.submit(JobKind.NOOP, {}, not_before="in 2 hours")
    job = scheduler.get(a)
    assert job.kind is JobKind.SLEEP and job.state is JobState.QUEUED and job.priority is Priority.HIGH
    assert job.args == {"seconds": 0.1, "mem_mb": 0, "cpus": 1, "crash": False}
    assert scheduler.get(b).not_before == pytest.approx(time.time() + 7200, abs=5)
    assert [j.id for j in scheduler.list()] == [a, b]
    assert scheduler.get(a[:6]).id == a  # a unique prefix is enough
    assert (home / "jobs.db").exists()
    mode = sqlite3.connect(home / "jobs.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@pytest.mark.parametrize("kind,args,error", [
    ("quantize", {"model": "smollm2", "quant_type": "Q9_X"}, UnknownQuantType),
    ("quantize", {"model": "no-such-model", "quant_type": "Q4_K_M"}, ModelNotFound),
    ("quantize", {"model": "smollm2"}, InvalidInput),                      # no quant type
    ("quantize", {"model": "smollm2", "quant_type": "NF4", "method": "gguf"}, UnknownQuantType),
    ("sleep", {"seconds": -1}, InvalidInput),
    ("sleep", {"secs": 1}, InvalidInput),                                  # unknown argument
    ("benchmark", {}, InvalidInput),
    ("teleport", {}, InvalidInput),                                        # unknown kind
])
def test_invalid_args_rejected_with_one_sentence(home, kind, args, error):
    with pytest.raises(error) as e:
        scheduler.submit(kind, args)
    msg = str(e.value)
    assert "\n" not in msg and msg.endswith(".") and "Traceback" not in msg
    assert scheduler.list() == []  # nothing queued


def test_bad_priority_and_time_rejected(home):
    with pytest.raises(InvalidInput, match="priority"):
        scheduler.submit("noop", {}, priority="whenever")
    with pytest.raises(InvalidInput, match="cannot read the time"):
        scheduler.submit("noop", {}, not_before="after lunch-ish")


def test_impossible_job_refused_with_estimate(home):
    import psutil
    too_much = psutil.virtual_memory().total // (1 << 20) * 2
    with pytest.raises(ImpossibleJob) as e:
        scheduler.submit("sleep", {"seconds": 1, "mem_mb": too_much})
    assert "needs about" in str(e.value) and "this machine has" in str(e.value)
    assert scheduler.list() == []


def test_quantize_estimate_comes_from_the_model(home):
    jid = scheduler.submit("quantize", {"model": "smollm2", "quant_type": "q4_k_m"})
    job = scheduler.get(jid)
    assert job.args == {"model": "smollm2", "quant_type": "Q4_K_M", "method": "gguf"}
    # jobs that need the same F16 share a key: the F16's cache path (one per source content)
    assert job.shared_key.startswith("f16:") and job.shared_key.endswith(".F16.gguf") and "smollm2-" in job.shared_key
    # 135M parameters: more than the weights, less than a few GB
    assert 300 << 20 < job.needs.ram_bytes < 4 << 30
    assert "135M params" in job.needs.basis


def test_cancel_queued_and_retry(home):
    jid = scheduler.submit("noop", {})
    assert scheduler.cancel(jid).state is JobState.CANCELLED
    with pytest.raises(InvalidInput, match="already cancelled"):
        scheduler.cancel(jid)
    again = scheduler.retry(jid)
    assert again.state is JobState.QUEUED and again.attempts == 0 and not again.cancel_requested
    with pytest.raises(InvalidInput, match="only failed or cancelled"):
        scheduler.retry(jid)


# ---- admission (pure policy; table-driven) --------------------------------------
def _job(jid, prio=Priority.NORMAL, t=0.0, ram=100, cpus=1, key=None, nb=None, dep=None):
    return Job(JobKind.NOOP, {}, priority=prio, needs=Needs(ram_bytes=ram, cpus=cpus), created_at=t,
               shared_key=key, not_before=nb, depends_on=dep, id=jid)


BIG = Budget(ram_bytes=10_000, cores=8, max_jobs=8)


@pytest.mark.parametrize("queued,running,budget,expect", [
    # higher priority first, then oldest
    ([_job("a", t=1), _job("b", Priority.HIGH, t=2), _job("c", t=0)], [], BIG, ["b", "c", "a"]),
    # jobs sharing a model's F16 run back to back, the oldest of the group first
    ([_job("m1", t=0, key="f16:x"), _job("o", t=1), _job("m2", t=2, key="f16:x")], [],
     Budget(10_000, 1, 1), ["m1"]),
    ([_job("m1", t=0, key="f16:x"), _job("o", t=1), _job("m2", t=2, key="f16:x")], [], BIG, ["m1", "m2", "o"]),
    # not-before in the future: skipped
    ([_job("late", nb=1e12), _job("now", t=5)], [], BIG, ["now"]),
    # budget: 600 + 600 > 1000, so one at a time, and nothing jumps the queue
    ([_job("x", ram=600, t=0), _job("y", ram=600, t=1), _job("tiny", ram=10, t=2)], [],
     Budget(1000, 8, 8), ["x"]),
    # cores: two 1-core jobs in a 1-core budget -> one
    ([_job("x", t=0), _job("y", t=1)], [], Budget(10_000, 1, 8), ["x"]),
    # something running already takes the budget
    ([_job("y", ram=600)], [_job("r", ram=600)], Budget(1000, 8, 8), []),
])
def test_admission_order(queued, running, budget, expect):
    d = admission.choose(queued, running, budget, free_ram=1 << 40, now=time.time())
    assert [j.id for j in d.start] == expect


def test_admission_notes_and_skips():
    over = _job("huge", ram=5000)
    dep_failed = _job("child", dep="parent")
    waiting_f16 = _job("m2", key="f16:x")
    d = admission.choose([over, dep_failed, waiting_f16], [_job("m1", key="f16:x")], Budget(1000, 8, 8),
                         free_ram=1 << 40, now=time.time(), dep_state=lambda _id: JobState.FAILED,
                         shared_ready=lambda key: False)
    assert d.start == []
    assert "more than this worker's budget" in d.notes["huge"]
    assert "did not succeed" in d.skip["child"]
    assert "same F16" in d.notes["m2"]


@pytest.mark.parametrize("text,total,expect", [
    ("75%", 1000, 750), ("8G", None, 8 << 30), ("512MB", None, 512 << 20), ("1.5GiB", None, int(1.5 * (1 << 30))),
    (1234, None, 1234),
])
def test_parse_size(text, total, expect):
    assert parse_size(text, total) == expect


def test_parse_size_rejects_nonsense():
    with pytest.raises(InvalidInput):
        parse_size("lots")
    with pytest.raises(InvalidInput):
        parse_size("150%", 1000)


# ---- not-before times ----------------------------------------------------------
NOW = datetime(2026, 11, 20, 15, 30)


@pytest.mark.parametrize("text,expect", [
    ("tonight", datetime(2026, 11, 20, 22, 0)),
    ("at 02:00", datetime(2026, 11, 21, 2, 0)),            # already past today -> tomorrow
    ("at 16:00", datetime(2026, 11, 20, 16, 0)),
    ("in 2 hours", datetime(2026, 11, 20, 17, 30)),
    ("in 30 min", datetime(2026, 11, 20, 16, 0)),
    ("in an hour", datetime(2026, 11, 20, 16, 30)),
    ("tomorrow at 7", datetime(2026, 11, 21, 7, 0)),
    ("at 9pm", datetime(2026, 11, 20, 21, 0)),
    ("2026-11-22T03:15", datetime(2026, 11, 22, 3, 15)),
    ("now", NOW),
])
def test_parse_when(text, expect):
    assert parse_when(text, NOW) == expect


def test_tonight_after_ten_means_now():
    late = datetime(2026, 11, 20, 23, 10)
    assert parse_when("tonight", late) == late


# ---- corrupt store --------------------------------------------------------------
def _fill(n: int) -> list[str]:
    store = JobStore()
    jobs = [Job(JobKind.NOOP, {"pad": "x" * 300}) for _ in range(n)]
    store.add_many(jobs)
    store.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return [j.id for j in jobs]


def test_corrupt_store_keeps_readable_jobs(home):
    ids = _fill(300)
    db = home / "jobs.db"
    page = 4096
    data = bytearray(db.read_bytes())
    n_pages = len(data) // page
    assert n_pages > 10
    mid = n_pages // 2
    data[mid * page:(mid + 1) * page] = os.urandom(page)  # one leaf page of jobs destroyed
    db.write_bytes(bytes(data))

    store = JobStore()
    kept = store.list()
    assert store.notice and "was damaged" in store.notice and f"{len(kept)} readable jobs were kept" in store.notice
    assert 200 < len(kept) < 300
    assert {j.id for j in kept} <= set(ids)
    assert list(home.glob("jobs.db.corrupt-*"))
    store.add(Job(JobKind.NOOP, {}))  # the fresh store works
    store.close()
    assert JobStore().notice is None  # and is healthy on the next open


def test_garbage_store_via_cli(home):
    home.mkdir(parents=True)
    (home / "jobs.db").write_bytes(b"this is not a database" * 500)
    r = subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", "jobs", "--json"], cwd=ROOT,
                       capture_output=True, text=True, env={**os.environ, "LQMF_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("\n") == 1 and "was damaged; 0 readable jobs were kept" in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout.strip() == "[]"


def test_cli_errors_are_one_line(home):
    env = {**os.environ, "LQMF_HOME": str(home)}
    for argv in (["jobs", "show", "nope"], ["jobs", "cancel"], ["worker", "--ram-budget", "lots", "--drain"]):
        r = subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", *argv], cwd=ROOT, capture_output=True,
                           text=True, env=env)
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr


# ---- fan-out --------------------------------------------------------------------
def test_fanout_queues_every_combination_or_nothing(home):
    from lqmf.tools.scheduler.fanout import fan_out, summarize

    with pytest.raises(UnknownQuantType):
        fan_out(["smollm2"], ["Q4_K_M", "Q7_Z"])
    assert scheduler.list() == []
    batch = fan_out(["smollm2"], ["Q4_K_M", "Q8_0", "NF4"], ["gguf"], chunks=2)
    jobs = scheduler.list(batch=batch)
    kinds = [j.kind for j in jobs]
    assert kinds.count(JobKind.QUANTIZE) == 2 and kinds.count(JobKind.BENCHMARK) == 2  # NF4 is not GGUF
    assert all(j.depends_on for j in jobs if j.kind is JobKind.BENCHMARK)
    s = summarize(batch, "smallest")
    assert s.pending == 2 and s.best is None


def _s(qt, size, kld, tok):
    return Strategy("m", qt, "gguf", qt, None, "succeeded", size, kld, None, tok)


@pytest.mark.parametrize("criterion,limit,expect", [
    (Criterion.SMALLEST, None, "Q2_K"),
    (Criterion.SMALLEST, 0.05, "Q4_K_M"),        # Q2_K is smaller but over the KLD limit
    (Criterion.FASTEST, None, "Q4_0"),
    (Criterion.BEST_QUALITY, None, "Q8_0"),
    (Criterion.SMALLEST, 0.001, None),           # nothing is that good
])
def test_fanout_pick(criterion, limit, expect):
    done = [_s("Q8_0", 150, 0.004, 80), _s("Q4_K_M", 100, 0.03, 95), _s("Q4_0", 95, 0.07, 110),
            _s("Q2_K", 70, 0.4, 100)]
    best, why = pick(done, criterion, limit)
    assert (best.quant_type if best else None) == expect and why
