"""`lqmf serve` over real HTTP on loopback: every route, every role, the bad
input and security cases, the audit log, live events, the gate. One server for
the module (team mode: admin, user, viewer and an expired token); quantize and
benchmark jobs are stood in by a 0.3 s sleep job through the test hook (the
real kinds run in test_serve_dashboard.py)."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.serve_fixtures import Server, lqmf, seed, wait_job
from tests.store_fixtures import sample_records

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve") / "home"
    home.mkdir()
    tokens = {}
    for name, role, extra in (("ada", "admin", []), ("uma", "user", []), ("vic", "viewer", []),
                              ("old", "user", ["--expires", "1s"])):
        res = lqmf(home, "token", "add", name, "--role", role, *extra)
        assert res.returncode == 0, res.stderr
        tokens[role if name != "old" else "expired"] = res.stdout.strip()
    seed(home, sample_records())
    time.sleep(1.1)   # the expired one is past its time
    srv = Server(home)
    yield srv, tokens
    srv.stop()


def test_tokens_are_stored_hashed(team):
    srv, tokens = team
    text = (srv.home / "tokens.json").read_text()
    assert all(t not in text for t in tokens.values())
    assert oct((srv.home / "tokens.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("who,status,needle", [
    (None, 401, "needs an API token"),
    ("lqmf_not-a-real-token", 401, "not known here"),
    ("expired", 401, "expired on"),
])
def test_bad_tokens_are_refused_and_nothing_runs(team, who, status, needle):
    srv, tokens = team
    secret = tokens.get(who, who)
    with srv.client(secret) as c:
        before = len(srv.client(tokens["admin"]).get("/api/jobs", params={"limit": 5000}).json())
        r = c.post("/api/quantize", json={"model": "smollm2", "types": ["Q4_K_M"]})
        assert r.status_code == status, r.text
        assert needle in r.json()["error"]["message"]
        assert r.headers.get("www-authenticate") == "Bearer"
        assert len(srv.client(tokens["admin"]).get("/api/jobs", params={"limit": 5000}).json()) == before


# Every route and the least role that may call it. Bodies are valid, so an allowed call
# answers 2xx (or a 4xx about the content, never 401/403).
ROUTES = [
    ("GET", "/api/whoami", None, "viewer"),
    ("GET", "/api/models", None, "viewer"),
    ("GET", "/api/jobs", None, "viewer"),
    ("GET", "/api/records?limit=3", None, "viewer"),
    ("GET", "/api/records/sm-q80", None, "viewer"),
    ("POST", "/api/query", {"model": "smollm2"}, "viewer"),
    ("POST", "/api/compare", {"targets": ["sm-q4km", "sm-q80"]}, "viewer"),
    ("GET", "/api/export?format=json", None, "viewer"),
    ("GET", "/api/export?format=csv", None, "viewer"),
    ("GET", "/api/recommend?task=chat&ram_gb=4", None, "viewer"),
    ("GET", "/api/doctor", None, "viewer"),
    ("GET", "/api/resources", None, "viewer"),
    ("GET", "/api/sweep/nosuchbatch", None, "viewer"),
    ("POST", "/api/quantize", {"model": "smollm2", "types": ["Q4_K_M"]}, "user"),
    ("POST", "/api/benchmark", {"target": "smollm2", "types": ["Q8_0"], "chunks": 2}, "user"),
    ("POST", "/api/jobs", {"kind": "quantize", "model": "smollm2", "quant_type": "Q8_0"}, "user"),
    ("POST", "/api/sweep", {"models": ["smollm2"], "types": ["Q4_K_M"], "chunks": 2, "not_before": "in 3 hours"}, "user"),
    ("POST", "/api/tune", {"model": "smollm2", "gate": "kld<0.05", "chunks": 2}, "user"),
    ("GET", "/api/audit", None, "admin"),
    ("GET", "/api/webhooks", None, "admin"),
    ("GET", "/api/webhooks/deliveries", None, "admin"),
    ("POST", "/api/export/mlflow", {"uri": "no-such-folder/x/mlflow.db"}, "admin"),
]
RANK = {"viewer": 0, "user": 1, "admin": 2}


@pytest.mark.parametrize("method,path,body,least", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_and_role(team, method, path, body, least):
    srv, tokens = team
    for role in ("viewer", "user", "admin"):
        with srv.client(tokens[role]) as c:
            r = c.request(method, path, json=body)
        if RANK[role] >= RANK[least]:
            assert r.status_code not in (401, 403), (role, r.text)
            assert r.status_code < 500, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.text)
            assert f"role {role}" in r.json()["error"]["message"]


def test_reads_return_the_stores_records(team):
    srv, tokens = team
    with srv.client(tokens["viewer"]) as c:
        recs = c.get("/api/records", params={"limit": 100}).json()
        assert {r["id"] for r in recs} == {r.id for r in sample_records()}
        one = c.get("/api/records/sm-q80").json()
        assert one["record"]["quant_type"] == "Q8_0"
        cmp = c.post("/api/compare", json={"targets": ["sm-q4km", "sm-q80"]}).json()
        assert [r["id"] for r in cmp["records"]] == ["sm-q4km", "sm-q80"]
        kld = next(m for m in cmp["metrics"] if m["metric"] == "kld_mean")
        assert kld["values"] == [0.062, 0.0046]
        q = c.post("/api/query", json={"model": "llama-3.1-8b"}).json()
        assert [r["id"] for r in q["records"]] == ["llama8-q4km"]
        csv = c.get("/api/export", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and "sm-q2k" in csv.text
        models = c.get("/api/models").json()
        assert any(m["name"] == "smollm2" for m in models["catalog"])
        rec = c.get("/api/recommend", params={"task": "chat", "ram_gb": 4, "device": "cpu"}).json()
        assert rec["options"] and all(o["memory_gb"] <= 4 for o in rec["options"]), rec["options"][:1]
        doc = c.get("/api/doctor").json()
        assert "llama" in doc and "versions" in doc
        assert c.get("/api/records/nope").status_code == 404


def test_explain(team):
    srv, tokens = team
    with srv.client(tokens["viewer"]) as c:
        r = c.get("/api/explain", params={"topic": "kld"})
        assert r.status_code == 200 and "KL" in r.json()["text"]


def test_jobs_submit_list_show_cancel_retry(team):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        r = c.post("/api/jobs", json={"kind": "benchmark", "target": "smollm2", "quant_type": "Q8_0"})
        assert r.status_code == 202, r.text
        jid = r.json()["job"]
        assert wait_job(c, jid)["state"] == "succeeded"
        assert any(j["id"] == jid for j in c.get("/api/jobs", params={"state": "succeeded"}).json())
        assert c.get(f"/api/jobs/{jid}").json()["id"] == jid
        # a job for later: cancel it, then retry it
        later = c.post("/api/quantize", json={"model": "smollm2", "types": ["Q4_K_M"],
                                              "not_before": "in 2 hours"}).json()["jobs"][0]
        with srv.client(tokens["viewer"]) as v:
            r = v.post(f"/api/jobs/{later}/cancel")
            assert r.status_code == 403 and "viewer" in r.json()["error"]["message"]
        assert c.get(f"/api/jobs/{later}").json()["state"] == "queued"       # the viewer changed nothing
        assert c.post(f"/api/jobs/{later}/cancel").json()["state"] == "cancelled"
        assert c.post(f"/api/jobs/{later}/retry").json()["state"] == "queued"
        c.post(f"/api/jobs/{later}/cancel")
        r = c.post(f"/api/jobs/{jid}/cancel")
        assert r.status_code == 400 and r.json()["error"]["type"] == "InvalidInput"
        r = c.get("/api/jobs/zzzzzz")
        assert r.status_code == 404, r.text
        r = c.get("/api/jobs", params={"state": "nonsense"})
        assert r.status_code == 400 and "no job state" in r.json()["error"]["message"]


@pytest.mark.parametrize("body,status,needle", [
    (b'{"model": "smollm2", "types": [', 400, "not valid JSON"),
    (b'{"model": "smollm2", "types": ["Q4_K_M"], "typo": 1}', 422, "'typo' is not allowed"),
    (b'{"types": ["Q4_K_M"]}', 422, "'model' is required"),
    (b'["smollm2"]', 422, "JSON object"),
    (b'{"model": "smollm2", "types": ["Q9_Z"]}', 400, "unknown quant type"),
    (b'{"model": "no-such-model-anywhere", "types": ["Q4_K_M"], "priority": "whenever"}', 422, "priority"),
])
def test_bad_bodies_get_one_sentence_and_nothing_runs(team, body, status, needle):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        before = len(c.get("/api/jobs", params={"limit": 5000}).json())
        r = c.post("/api/quantize", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert needle in err["message"] and err["status"] == status and "Traceback" not in r.text
        assert len(c.get("/api/jobs", params={"limit": 5000}).json()) == before


def test_a_huge_body_is_refused(team):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        r = c.post("/api/chat", content=b'{"text": "' + b"x" * (2 << 20) + b'"}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "larger than this server accepts" in r.json()["error"]["message"]

        def chunks():  # no Content-Length: counted as it streams
            yield b'{"text": "'
            for _ in range(40):
                yield b"y" * 65536
            yield b'"}'
        r = c.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413


def test_artifact_downloads_stay_inside_the_artifacts_folder(team):
    srv, tokens = team
    art = srv.home / "artifacts" / "smollm2"
    art.mkdir(parents=True, exist_ok=True)
    (art / "tiny.gguf").write_bytes(b"GGUF-test")
    (srv.home / "secret.txt").write_text("no")
    with srv.client(tokens["viewer"]) as c:
        r = c.get("/api/artifacts/smollm2/tiny.gguf")
        assert r.status_code == 200 and r.content == b"GGUF-test"
        for bad in ("/api/artifacts/..%2Fsecret.txt", "/api/artifacts/smollm2/..%2F..%2Fsecret.txt",
                    "/api/artifacts/%2Fetc%2Fpasswd"):
            r = c.get(bad)
            assert r.status_code in (400, 404), (bad, r.text)
            assert "secret" not in r.text or "leaves the artifacts folder" in r.text
            assert r.content != b"no"
        r = c.get("/api/artifacts/..%2Fsecret.txt")
        assert r.status_code == 400 and "leaves the artifacts folder" in r.json()["error"]["message"]
        assert c.get("/api/artifacts/smollm2/none.gguf").status_code == 404


def test_unknown_routes_and_methods_are_json(team):
    srv, tokens = team
    with srv.client(tokens["admin"]) as c:
        r = c.get("/api/nothing-here")
        assert r.status_code == 404 and "/docs" in r.json()["error"]["message"]
        for method in ("POST", "PUT", "DELETE", "PATCH"):   # the audit log has no writing route
            r = c.request(method, "/api/audit", json={})
            assert r.status_code == 405, r.text
        assert c.get("/openapi.json").json()["info"]["title"] == "LQMF Copilot"
        assert c.get("/docs").status_code == 200


def test_the_audit_log_records_who_did_what(team):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        c.post("/api/quantize", json={"model": "smollm2", "types": ["Q5_K_M"]})
        c.post("/api/quantize", json={"model": "smollm2", "types": ["Q9_Z"]})
    assert lqmf(srv.home, "jobs", "cancel", "nosuchjob").returncode != 0   # a CLI call, refused: audited too
    with srv.client(tokens["admin"]) as c:
        log = c.get("/api/audit").json()
    assert log["problems"] == []
    mine = [e for e in log["entries"] if e["actor"] == "uma"]
    assert any(e["action"] == "quantize.queue" and "Q5_K_M" in e["target"] and e["ok"] for e in mine)
    assert any(e["action"] == "quantize.queue" and not e["ok"] and "unknown quant type" in e["result"] for e in mine)
    assert any(e["action"] == "token.add" and e["via"] == "cli" for e in log["entries"])
    assert any(e["action"] == "jobs.cancel" and e["via"] == "cli" and not e["ok"] for e in log["entries"])
    assert not any(e["actor"] == "vic" for e in log["entries"])   # the viewer's refused calls changed nothing
    res = lqmf(srv.home, "audit", "--verify")
    assert res.returncode == 0 and "intact" in res.stdout


def test_an_edited_audit_line_is_found(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    assert lqmf(home, "token", "add", "a", "--role", "admin").returncode == 0
    assert lqmf(home, "token", "add", "b", "--role", "viewer").returncode == 0
    p = home / "audit.jsonl"
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0].replace('role=admin', 'role=viewer'), lines[1]]) + "\n")
    res = lqmf(home, "audit", "--verify")
    assert res.returncode == 1 and "line 1 (token.add) was changed" in res.stdout


def test_chat_keeps_a_conversation(team):
    srv, tokens = team
    with srv.client(tokens["user"], timeout=180) as c:
        r = c.post("/api/chat", json={"text": "what models do I have?"})
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["blocks"] and first["conversation_id"]
        r = c.post("/api/chat", json={"text": "help", "conversation_id": first["conversation_id"]})
        assert r.json()["conversation_id"] == first["conversation_id"] and r.json()["blocks"]
        r = c.post("/api/chat", json={"text": "hi", "conversation_id": "../../etc"})
        assert r.status_code == 422
    with srv.client(tokens["viewer"]) as v:
        assert v.post("/api/chat", json={"text": "quantize smollm2 to Q4_K_M"}).status_code == 403


def test_events_stream_job_progress(team):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        jid = c.post("/api/quantize", json={"model": "smollm2", "types": ["Q6_K"]}).json()["jobs"][0]
    states = []
    with httpx.stream("GET", srv.url + "/api/events", params={"after": 0},
                      headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = None
        deadline = time.time() + 30
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "job":
                d = json.loads(line.split(":", 1)[1])
                if d["id"] == jid:
                    states.append(d["status"])
                    if d["status"] == "succeeded":
                        break
            assert time.time() < deadline, states
    assert states[-1] == "succeeded"    # (progress advancing is seen with a real quantize in test_serve_dashboard)
    with httpx.stream("GET", srv.url + "/api/events", timeout=10) as r:
        assert r.status_code == 401


def test_gate(team):
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        jid = c.post("/api/benchmark", json={"target": "smollm2", "types": ["Q8_0"]}).json()["jobs"][0]
        wait_job(c, jid)
        ok = c.get(f"/api/jobs/{jid}/gate").json()
        assert ok["passed"] is True
        bad = c.get(f"/api/jobs/{jid}/gate", params={"max_kld": 0.01}).json()   # the stand-in job measured nothing
        assert bad["passed"] is False and bad["reasons"] == ["kld<=0.01 (not measured)"]
        assert c.get(f"/api/jobs/{jid}/gate", params={"gate": "size<1GB"}).json()["passed"] is False
        r = c.get(f"/api/jobs/{jid}/gate", params={"gate": "kld<<0.05"})   # malformed: the grammar in one sentence
        assert r.status_code == 400 and "gate" in r.json()["error"]["message"]


def test_refuses_a_public_bind_without_tokens(tmp_path):
    res = lqmf(tmp_path / "h", "serve", "--host", "0.0.0.0", "--port", "1")
    assert res.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API tokens" in res.stderr and "Traceback" not in res.stderr


def test_a_cross_site_form_post_runs_nothing(team):
    """A page elsewhere can POST a form or text/plain to loopback without a CORS preflight:
    the API reads JSON only, so such a body is refused before any route runs."""
    srv, tokens = team
    with srv.client(tokens["user"]) as c:
        before = len(c.get("/api/jobs", params={"limit": 5000}).json())
        for ctype in ("text/plain", "application/x-www-form-urlencoded"):
            r = c.post("/api/quantize", content=b'{"model": "smollm2", "types": ["Q4_K_M"]}',
                       headers={"Content-Type": ctype})
            assert r.status_code in (400, 415, 422), (ctype, r.text)
            assert r.json()["error"]["message"]
        assert len(c.get("/api/jobs", params={"limit": 5000}).json()) == before
        assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
