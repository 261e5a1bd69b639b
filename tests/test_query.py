"""Queries end to end: utterance -> real parser -> Query -> real Chroma -> rows.

Embedded Chroma and a Chroma server on loopback, real embeddings, no mocks.
"""
from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout

import pytest

from lqmf.copilot.cli import main as lqmf
from lqmf.copilot.app.compare import targets_from_text
from lqmf.copilot.parser import parse
from tests.store_fixtures import ChromaServer, sample_records
from lqmf.tools.store import vectors as vectors_mod
from lqmf.tools.store.compare import compare, resolve_targets
from lqmf.tools.errors import InvalidInput, UnknownQuantType
from lqmf.tools.store.query import from_slots, remainder
from lqmf.tools.store.query_exec import Engine, run
from lqmf.tools.store.experiments import default_store


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    yield srv
    srv.stop()


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    if request.param == "server":
        srv = request.getfixturevalue("server")
        # a fresh collection per test: the server is shared by the module
        monkeypatch.setattr(vectors_mod, "COLLECTION", f"t{abs(hash(tmp_path)) % 10**9}")
        monkeypatch.setenv("LQMF_CHROMA_URL", srv.url)
    else:
        monkeypatch.delenv("LQMF_CHROMA_URL", raising=False)
    st = default_store()
    st.add_many(sample_records())
    return st


def ask(store, utterance: str, engine: Engine = Engine.INDEX):
    parsed = parse(utterance)
    slots = parsed["slots"]
    return run(store, from_slots(slots, remainder(utterance, slots)), engine=engine)


def ids(result) -> list[str]:
    return [r.id for r in result.records]


def test_contract_fastest_chat_models_under_2gb(store):
    res = ask(store, "show me my fastest chat models under 2GB")
    # chat models under 2 GB, fastest first; the 2.4 GB and 4.9 GB runs and the
    # code model are out, failures have no speed
    assert ids(res) == ["sm-q2k", "sm-q4km", "sm-q4km-old", "sm-q6k-hub", "sm-q80"]
    speeds = [r.gen_tok_s for r in res.records]
    assert speeds == sorted(speeds, reverse=True)


def test_contract_failed_last_week(store):
    res = ask(store, "which experiments failed last week")
    assert ids(res) == ["mistral-oom"]           # the 10-day-old failure is out
    assert "out of memory" in res.records[0].error


def test_contract_compare_q4_k_m_and_q8_0_of_smollm2(store):
    targets = targets_from_text(["compare the Q4_K_M and Q8_0 runs of smollm2"])
    assert targets == ["smollm2:Q4_K_M", "smollm2:Q8_0"]
    c = compare(resolve_targets(store, targets))
    assert [r.id for r in c.records] == ["sm-q4km", "sm-q80"]   # the newest Q4_K_M run
    by = {row[0].metric.field: row[1] for row in c.rows}
    assert by["size_bytes"].verdict == "worse" and by["kld_mean"].verdict == "better"
    assert by["gen_tok_s"].verdict == "worse" and round(by["gen_tok_s"].pct, 1) == -16.7


def test_model_names_match_through_the_catalog(store):
    # "smollm" is an alias; the hub id run belongs to smollm2 too
    res = ask(store, "show my smollm runs sorted by size")
    assert set(ids(res)) == {"sm-q4km", "sm-q80", "sm-q2k", "sm-q4km-old", "sm-q6k-hub"}
    assert ids(res)[0] == "sm-q2k"                 # smallest first


def test_best_quality_means_lowest_kld(store):
    res = run(store, from_slots({"sort": "quality", "order": "desc", "limit": 2}))
    assert ids(res) == ["sm-q80", "sm-q6k-hub"]
    res = run(store, from_slots({"sort": "quality", "order": "asc", "limit": 1}))
    assert ids(res) == ["sm-q2k"]


def test_nothing_matches_offers_the_nearest_relaxation(store):
    res = run(store, from_slots({"task": "code", "max_size_gb": 0.5}))
    assert res.empty
    assert res.message() == ("no code runs under 0.5 GB; the smallest is 1.10 GB "
                             "(qwen2.5-coder-1.5b Q4_K_M)")
    res = run(store, from_slots({"model": "llama-3.1-8b", "min_tok_s": 50}))
    assert res.message().endswith("the fastest runs at 9.0 tok/s (llama-3.1-8b Q4_K_M)")
    res = run(store, from_slots({"status": "failed", "task": "code"}))
    assert "without" in res.message() and res.relaxations


def test_semantic_remainder_finds_collapsed_quality(store):
    utterance = "runs where quality collapsed"
    assert remainder(utterance, {}) == utterance
    res = run(store, from_slots({"limit": 3}, utterance))
    assert res.semantic and ids(res)[0] == "sm-q2k"
    res = run(store, from_slots({"status": "failed"}, "which ones ran out of memory"))
    assert ids(res)[0] == "mistral-oom"


def test_structured_utterances_have_no_remainder():
    for u in ["show me my fastest chat models under 2GB", "which experiments failed last week"]:
        assert remainder(u, parse(u)["slots"]) is None


def test_side_index_sql_agrees_with_the_python_reference(store):
    for slots in [{"task": "chat", "max_size_gb": 2, "sort": "speed"},
                  {"status": "failed", "since_days": 7}, {"bits": 4, "sort": "size"},
                  {"method": "gguf", "min_tok_s": 20, "sort": "quality", "order": "desc"},
                  {"model": "smollm2", "sort": "date"}, {"quant_types": ["Q8_0", "Q2_K"]},
                  {"task": "chat", "status": "succeeded", "sort": "quality", "limit": 3},
                  {"status": "succeeded"}, {"task": "code", "bits": 4, "method": "gguf"},
                  {"model": "qwen", "sort": "speed", "order": "asc"}, {"sort": "size", "order": "desc"},
                  {"task": "creative", "max_size_gb": 8, "min_tok_s": 10, "sort": "size"},
                  {"since_days": 30, "sort": "date", "order": "asc"}, {"min_tok_s": 50, "sort": "quality"}]:
        q = from_slots(slots)
        index, scan = run(store, q, Engine.INDEX), run(store, q, Engine.SCAN)
        assert ids(index) == ids(scan), slots
        assert (index.total, index.total_exact) == (scan.total, scan.total_exact), slots


def test_counts_stop_at_the_cap_and_say_more_than(store, monkeypatch):
    from lqmf.tools.store import query_exec

    monkeypatch.setattr(query_exec, "COUNT_CAP", 3)
    for engine in Engine:
        res = run(store, from_slots({"task": "chat", "limit": 2}), engine)
        assert (len(res.records), res.total, res.total_exact) == (2, 3, False), engine
        assert res.message() == "2 of more than 3 chat runs"
        assert res.to_dict()["total_exact"] is False
    res = run(store, from_slots({"model": "llama-3.1-8b", "limit": 5}))
    assert res.total_exact and res.message() == ""


def test_bad_slots_give_one_sentence():
    with pytest.raises(InvalidInput, match="positive number"):
        from_slots({"max_size_gb": -1})
    with pytest.raises(InvalidInput, match="unknown sort"):
        from_slots({"sort": "loudness"})
    with pytest.raises(UnknownQuantType):
        from_slots({"quant_type": "Q9_Z"})


def _cli(*argv) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = lqmf(list(argv))
    return code, out.getvalue()


@pytest.mark.parametrize("store", ["embedded"], indirect=True)
def test_cli_query_json_and_flags(store, capsys):
    code, out = _cli("query", "show me my fastest chat models under 2GB", "--json")
    data = json.loads(out)
    assert code == 0 and data["parsed"]["intent"] == "query"
    assert [r["id"] for r in data["records"]][:2] == ["sm-q2k", "sm-q4km"]
    code, out = _cli("query", "--task", "code", "--max-size-gb", "0.5", "--json")
    assert json.loads(out)["message"].startswith("no code runs under 0.5 GB; the smallest is")
    code, out = _cli("query", "--model", "smollm2", "--plot", "size-kld")
    assert code == 0 and "size vs quality" in out and "Q2_K" in out


@pytest.mark.parametrize("store", ["embedded"], indirect=True)
def test_cli_compare_and_export(store, tmp_path, capsys):
    code, out = _cli("compare", "smollm2:Q4_K_M", "sm-q80", "--json")
    data = json.loads(out)
    kld = next(m for m in data["metrics"] if m["metric"] == "kld_mean")
    assert code == 0 and kld["verdicts"] == [None, "better"]
    assert lqmf(["compare", "smollm2:Q4_K_M", "nosuchmodel:Q8_0"]) == 2
    assert "no succeeded run of nosuchmodel at Q8_0" in capsys.readouterr().err
    target = tmp_path / "runs.csv"
    assert lqmf(["export", "--csv", str(target)]) == 0
    rows = list(csv.DictReader(open(target)))
    assert len(rows) == len(sample_records()) and {"id", "kld_mean", "tasks"} <= set(rows[0])
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert lqmf(["export", "--parquet", str(tmp_path / "x.parquet")]) == 2
        assert "pyarrow" in capsys.readouterr().err
        assert not (tmp_path / "x.parquet").exists()


def test_a_ranking_leaves_out_every_run_of_an_artifact_a_gate_rejects_until_a_gate_passes_it(store):
    """The quantize run of an artifact is written before its gated benchmark, and an earlier ungated
    benchmark before the judgement: neither is a pick once a gate rejects the artifact; a run of the
    same path made after the judgement (a rebuild) is, and so is everything after a gate passes it."""
    from tests.store_fixtures import rec

    art = "/data/artifacts/tiny/tiny.Q2_K.gguf"
    made = rec(model="tiny", qt="Q2_K", size=1e6, kind="quantize", age_days=0.5, artifact=art)
    timed = rec(model="tiny", qt="Q2_K", size=1e6, age_days=0.4, artifact=art)
    judged = rec(model="tiny", qt="Q2_K", size=1e6, kld=0.9, age_days=0.3, artifact=art,
                 gate="kld<0.05", gate_failed="kld<0.05 (KLD 0.9)")
    store.add_many([made, timed, judged])
    q = from_slots({"sort": "size", "order": "asc"})
    for engine in (Engine.INDEX, Engine.SCAN):
        assert not {made.id, timed.id, judged.id} & set(ids(run(store, q, engine))), engine
    listed = run(store, from_slots({"model": "tiny"}))
    assert {made.id, timed.id, judged.id} <= set(ids(listed))      # a listing still shows them
    rebuilt = rec(model="tiny", qt="Q2_K", size=1e6, kind="quantize", age_days=0.2, artifact=art)
    store.add_many([rebuilt])
    assert ids(run(store, q))[0] == rebuilt.id
    passed = rec(model="tiny", qt="Q2_K", size=1e6, kld=0.04, age_days=0.1, artifact=art, gate="kld<1")
    store.add_many([passed])
    for engine in (Engine.INDEX, Engine.SCAN):
        assert {made.id, timed.id, rebuilt.id, passed.id} <= set(ids(run(store, q, engine))), engine
