"""Webhook deliveries to a real local receiver: signed with HMAC-SHA256 (checked
by the receiver the way a user's would), retried with backoff after failures,
each attempt in the delivery log; non-http(s) URLs refused. The last test runs
it end to end through `lqmf serve`: a finished job and a rejected gate."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lqmf.copilot.app import webhooks
from lqmf.tools.errors import InvalidInput


class Receiver:
    """An HTTP server on loopback that answers ``fail_first`` 500s, then 200s, and keeps what came."""

    def __init__(self, fail_first: int = 0):
        self.got: list[dict] = []
        self.fail_first = fail_first
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append({"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}, "at": time.time()})
                code = 500 if len(outer.got) <= outer.fail_first else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(fail_first=0):
        made.append(Receiver(fail_first))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "http://",
                                 "gopher://127.0.0.1:70/", "/relative/path"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(InvalidInput, match="must be http:// or https://"):
        webhooks.add(url)
    assert webhooks.load() == []


def test_unknown_events_are_refused():
    with pytest.raises(InvalidInput, match="unknown webhook event 'job.exploded'"):
        webhooks.add("http://127.0.0.1:9/x", ["job.exploded"])


def test_signed_delivery_retried_with_backoff(receiver):
    rx = receiver(fail_first=2)
    hook = webhooks.add(rx.url, ["job.finished"], secret="s" * 32)
    t0 = time.time()
    assert webhooks.deliver(hook, "job.finished", {"id": "j1", "status": "succeeded"}, attempts=4, backoff_s=0.2)
    assert len(rx.got) == 3
    gaps = [b["at"] - a["at"] for a, b in zip(rx.got, rx.got[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and time.time() - t0 < 5     # 0.2 s, then 0.4 s
    for g in rx.got:
        assert webhooks.verify("s" * 32, g["body"], g["headers"]["x-lqmf-signature"])
        assert not webhooks.verify("t" * 32, g["body"], g["headers"]["x-lqmf-signature"])
        assert json.loads(g["body"])["data"]["id"] == "j1"
    assert len({g["headers"]["x-lqmf-delivery"] for g in rx.got}) == 1   # one delivery, three attempts
    log = webhooks.deliveries()
    assert [(e["attempt"], e["ok"], e["status"]) for e in log] == [(1, False, 500), (2, False, 500), (3, True, 200)]
    tampered = rx.got[-1]["body"].replace(b"j1", b"j2")
    assert not webhooks.verify("s" * 32, tampered, rx.got[-1]["headers"]["x-lqmf-signature"])


def test_a_dead_receiver_is_given_up_after_the_attempts():
    hook = webhooks.add("http://127.0.0.1:9/nothing-listens", secret="k" * 32)
    assert webhooks.deliver(hook, "job.failed", {"id": "x"}, attempts=2, backoff_s=0.05) is False
    log = webhooks.deliveries()
    assert [e["attempt"] for e in log] == [1, 2] and not any(e["ok"] for e in log) and log[0]["error"]


def test_events_go_only_to_hooks_that_want_them(receiver):
    a, b = receiver(), receiver()
    webhooks.add(a.url, ["job.failed"])
    webhooks.add(b.url, ["job.finished", "gate.rejected"])
    d = webhooks.Dispatcher(backoff_s=0.05)
    assert d.fire(webhooks.Event.JOB_FINISHED, {"id": "1"}) == 1
    assert d.fire(webhooks.Event.GATE_REJECTED, {"job": "1"}) == 1
    d.join()
    assert a.got == [] and [json.loads(g["body"])["event"] for g in b.got] == ["job.finished", "gate.rejected"]


def test_through_the_server(tmp_path, receiver):
    from tests.serve_fixtures import Server, wait_job

    rx = receiver()
    srv = Server(tmp_path / "home", jobs="sleep:0.2")
    try:
        with srv.client() as c:   # no tokens: the loopback user is admin
            r = c.post("/api/webhooks", json={"url": "file:///etc/passwd"})
            assert r.status_code == 400 and "http:// or https://" in r.json()["error"]["message"]
            r = c.post("/api/webhooks", json={"url": rx.url, "events": ["job.finished", "gate.rejected"]})
            assert r.status_code == 201
            secret, hid = r.json()["secret"], r.json()["id"]
            assert "secret" not in c.get("/api/webhooks").json()[0]
            jid = c.post("/api/benchmark", json={"target": "smollm2"}).json()["jobs"][0]
            wait_job(c, jid)
            assert c.get(f"/api/jobs/{jid}/gate", params={"max_kld": 0.1}).json()["passed"] is False
            deadline = time.time() + 20
            while len(rx.got) < 2 and time.time() < deadline:
                time.sleep(0.1)
            events = sorted(json.loads(g["body"])["event"] for g in rx.got)
            assert events == ["gate.rejected", "job.finished"]
            assert all(webhooks.verify(secret, g["body"], g["headers"]["x-lqmf-signature"]) for g in rx.got)
            assert len(c.get("/api/webhooks/deliveries").json()) == 2
            assert c.delete(f"/api/webhooks/{hid}").status_code == 200
            assert c.get("/api/webhooks").json() == []
    finally:
        srv.stop()


def test_notify_waits_for_queued_jobs_and_says_so(tmp_path):
    """`--notify` with `--queue`: the command waits for its jobs, then notifies (stderr here: no
    terminal for the bell and no notify-send on the test machine, which is the edge we do not own)."""
    from tests.conftest import stop_workers
    from tests.serve_fixtures import lqmf

    home = tmp_path / "h"
    try:
        res = lqmf(home, "bench", "smollm2", "--type", "Q8_0", "--queue", "--notify", jobs="noop", worker=True)
        assert res.returncode == 0, res.stderr
        assert "lqmf bench: 1 job(s) succeeded" in res.stderr
    finally:
        stop_workers(home)
