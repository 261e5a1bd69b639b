"""Ray beyond one machine, for real: a Ray head and a second Ray node run as
the project's own test hosts, two network namespaces joined by a veth pair
(10.77.0.1 and 10.77.0.2 exist only inside them). The executor (the driver)
runs inside the first namespace. Jobs run on both nodes; then the second
node is killed mid-job and its job completes on the first.

Loopback cannot hold two Ray nodes (Ray swaps 127.0.0.1 for the machine's
outward address) and no test may use that address, hence the namespaces.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
HEAD_IP, NODE_IP = "10.77.0.1", "10.77.0.2"

if os.geteuid() != 0:
    pytest.skip("the Ray two-node test makes network namespaces, which needs root", allow_module_level=True)
if not shutil.which("ip"):
    pytest.skip("the Ray two-node test needs iproute2's `ip` (apt-get install iproute2)", allow_module_level=True)
if not RAY.exists():
    pytest.skip("Ray is not installed (pip install 'lqmf[ray]')", allow_module_level=True)


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def kill_tree(proc: subprocess.Popen) -> None:
    import psutil
    try:
        procs = [psutil.Process(proc.pid)] + psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        procs = []
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.wait()


@pytest.fixture
def netns():
    tag = uuid.uuid4().hex[:5]
    ns1, ns2, v1, v2 = f"lqmf1-{tag}", f"lqmf2-{tag}", f"lqv1{tag}", f"lqv2{tag}"
    sh("ip", "netns", "add", ns1)
    sh("ip", "netns", "add", ns2)
    try:
        sh("ip", "link", "add", v1, "type", "veth", "peer", "name", v2)
        sh("ip", "link", "set", v1, "netns", ns1)
        sh("ip", "link", "set", v2, "netns", ns2)
        for ns, dev, ip in ((ns1, v1, HEAD_IP), (ns2, v2, NODE_IP)):
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns1, ns2
    finally:
        subprocess.run(["ip", "netns", "del", ns1], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns2], capture_output=True)


@pytest.fixture
def cluster(netns, tmp_path):
    ns1, ns2 = netns
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT),
               # find a dead node in ~3 s instead of ~30 s
               RAY_health_check_period_ms="500", RAY_health_check_timeout_ms="1000",
               RAY_health_check_failure_threshold="3", RAY_health_check_initial_delay_ms="1000")
    logs = tmp_path / "ray-logs"
    logs.mkdir()
    rt = Path(f"/tmp/lqr-{uuid.uuid4().hex[:6]}")  # Ray's unix sockets need a short path
    common = ["--num-cpus=1", "--disable-usage-stats", "--block"]
    head = subprocess.Popen(
        ["ip", "netns", "exec", ns1, str(RAY), "start", "--head", f"--node-ip-address={HEAD_IP}", "--port=6379",
         "--include-dashboard=false", f"--temp-dir={rt}", *common],
        env=env, stdout=open(logs / "head.log", "w"), stderr=subprocess.STDOUT, cwd=ROOT)
    procs = [head]
    try:
        time.sleep(4)
        node = subprocess.Popen(
            ["ip", "netns", "exec", ns2, str(RAY), "start", f"--address={HEAD_IP}:6379",
             f"--node-ip-address={NODE_IP}", f"--temp-dir={rt}", *common],
            env=env, stdout=open(logs / "node.log", "w"), stderr=subprocess.STDOUT, cwd=ROOT)
        procs.append(node)
        wait_nodes = ("import ray,time\nray.init(address='%s:6379', logging_level='ERROR')\n"
                      "end=time.time()+60\n"
                      "while sum(n['Alive'] for n in ray.nodes())<2 and time.time()<end: time.sleep(0.5)\n"
                      "print(sum(n['Alive'] for n in ray.nodes()))" % HEAD_IP)
        r = subprocess.run(["ip", "netns", "exec", ns1, sys.executable, "-c", wait_nodes], env=env,
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert r.stdout.strip().endswith("2"), (r.stdout, r.stderr[-2000:], (logs / "node.log").read_text()[-2000:])
        yield {"ns1": ns1, "ns2": ns2, "env": env, "head": head, "node": node, "logs": logs}
    finally:
        for p in reversed(procs):
            kill_tree(p)
        shutil.rmtree(rt, ignore_errors=True)


def drive(cluster, home: Path, timeout: float = 180) -> subprocess.Popen:
    """The executor, inside the head's namespace, until the queue is drained."""
    env = dict(cluster["env"], LQMF_HOME=str(home), LQMF_RAY_ADDRESS=f"{HEAD_IP}:6379")
    return subprocess.Popen(["ip", "netns", "exec", cluster["ns1"], sys.executable, "-c",
                             "from lqmf.tools.scheduler import run_worker; run_worker(ray_address='', drain=True)"],
                            env=env, cwd=ROOT, stdout=open(cluster["logs"] / "driver.log", "a"),
                            stderr=subprocess.STDOUT)


def test_jobs_run_on_both_nodes_and_survive_a_node_death(cluster, tmp_path, monkeypatch):
    from lqmf.tools import scheduler
    from lqmf.tools.scheduler.jobs import JobState

    home = tmp_path / "home"
    monkeypatch.setenv("LQMF_HOME", str(home))

    # 1. two 1-CPU jobs on two 1-CPU nodes run side by side, one on each node
    first = [scheduler.submit("sleep", {"seconds": 2}) for _ in range(2)]
    d = drive(cluster, home)
    assert d.wait(timeout=180) == 0, (cluster["logs"] / "driver.log").read_text()[-3000:]
    jobs = [scheduler.get(j) for j in first]
    assert all(j.state is JobState.SUCCEEDED for j in jobs), [j.error for j in jobs]
    assert {j.result["node_ip"] for j in jobs} == {HEAD_IP, NODE_IP}

    # 2. again, and kill the second node while its job runs: that job finishes on the head
    markers = [tmp_path / f"done-{i}" for i in range(2)]
    second = [scheduler.submit("sleep", {"seconds": 6, "marker": str(m)}) for m in markers]
    d = drive(cluster, home)
    end = time.monotonic() + 60
    while time.monotonic() < end and not all(scheduler.get(j).state is JobState.RUNNING for j in second):
        time.sleep(0.1)
    time.sleep(3)  # both jobs are mid-way, one on each node
    kill_tree(cluster["node"])
    assert d.wait(timeout=180) == 0, (cluster["logs"] / "driver.log").read_text()[-3000:]
    jobs = [scheduler.get(j) for j in second]
    assert all(j.state is JobState.SUCCEEDED for j in jobs), [j.error for j in jobs]
    assert {j.result["node_ip"] for j in jobs} == {HEAD_IP}  # the killed node's job moved to the head
    assert all(m.read_text().count("\n") == 1 for m in markers)  # each completed exactly once


def test_worker_on_an_address_where_nothing_listens_is_one_sentence_at_once():
    import time

    from tests.conftest import run_lqmf

    t0 = time.monotonic()
    r = run_lqmf("worker", "--ray", "127.0.0.1:1", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "no Ray cluster answers at 127.0.0.1:1" in r.stderr
    assert time.monotonic() - t0 < 15, "refused at once, not after Ray's own retries"
