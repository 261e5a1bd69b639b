"""The conversation as people talk (issue [10]): questions about "models" answer with one row
per artifact (its runs merged, failures left out), rankings leave out rows that lack the
measure and say when settings differ, a year that cannot be honoured is named, and a question
about an artifact with no measurement offers to measure it. Real parser, graph, Chroma store
and job store; jobs are the scheduler's quick noop kind (the test hook), no worker."""
from __future__ import annotations

import re
import time

import pytest

from tests.chat_fixtures import plain_chat

from tests.store_fixtures import rec

ART = "/tmp/lqmf-test-artifacts/smollm2.{}.gguf"


def history() -> list:
    """smollm2 Q4_K_M: a quantize run and two benchmarks (one on less text); Q8_0: quantize +
    benchmark; Q2_K: quantize only (no speed); a failed Q6_K; tinyllama Q4_0 timed while busy."""
    def q(qt, size, age, **kw):
        return rec("smollm2", qt, size, None, None, kind="quantize", age_days=age, artifact=ART.format(qt), **kw)

    def b(qt, size, tok, kld, age, tokens=4096, **kw):
        return rec("smollm2", qt, size, tok, kld, age_days=age, artifact=ART.format(qt), eval_tokens=tokens,
                   ctx=512, ppl=20 + kld * 10, base_ppl=20.0, threads=2, **kw)

    return [
        q("Q4_K_M", 105e6, 3, id="q4-quant"), b("Q4_K_M", 105e6, 90.0, 0.06, 2.5, id="q4-b1"),
        b("Q4_K_M", 105e6, 95.0, 0.05, 2, tokens=1024, id="q4-b2"),
        q("Q8_0", 145e6, 2, id="q8-quant"), b("Q8_0", 145e6, 80.0, 0.005, 1.5, id="q8-b"),
        q("Q2_K", 60e6, 1, id="q2-quant"),
        rec("smollm2", "Q6_K", status="failed", kind="quantize", age_days=1, error="disk full", id="q6-fail"),
    ]


@pytest.fixture
def chat(tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LQMF_CHROMA_URL", raising=False)
    from lqmf.tools.store.experiments import default_store

    default_store().add_many(history())
    with plain_chat() as say:
        yield say


def _table_rows(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"\s*\d+\s{2,}smollm2\b", line)]


@pytest.mark.parametrize("utterance", ["show me my smallest models", "list my quants", "what models do i have"])
def test_models_questions_answer_one_row_per_artifact_without_failures(chat, utterance):
    out, calls, _ = chat(utterance)
    # with a filter or a sort a query of the models made; without, the inventory, whose "made" part is the same view
    assert calls and calls[0]["tool"] == ("query" if "smallest" in utterance else "models")
    rows = _table_rows(out)
    assert len(rows) == 3, out                       # Q4_K_M, Q8_0, Q2_K: each once
    assert sum("Q4_K_M" in r for r in rows) == 1
    assert not any("Q6_K" in r for r in rows)        # the failed run is left out
    assert "runs merged" in out


def test_smallest_models_are_sorted_by_the_merged_size(chat):
    out, _, _ = chat("show me my smallest models")
    rows = _table_rows(out)
    assert [next(t for t in ("Q2_K", "Q4_K_M", "Q8_0") if t in r) for r in rows] == ["Q2_K", "Q4_K_M", "Q8_0"]


def test_fastest_models_leave_out_the_unmeasured_and_say_settings_differ(chat):
    out, _, _ = chat("my fastest models")
    rows = _table_rows(out)
    assert [next(t for t in ("Q2_K", "Q4_K_M", "Q8_0") if t in r) for r in rows] == ["Q4_K_M", "Q8_0"]
    assert "no speed measurement" in out             # Q2_K is named as left out, not ranked


def test_quality_ranking_of_runs_says_the_evaluation_settings_differ(chat):
    out, _, _ = chat("which runs have the best quality")
    assert "different evaluation settings" in out and "not directly comparable" in out


def test_failures_are_shown_when_asked_for(chat):
    out, _, _ = chat("which of my quantizations failed")
    assert "Q6_K" in out


@pytest.mark.parametrize("utterance,year", [("show me experiments from the year 1850", "1850"),
                                            ("list runs from 1999", "1999")])
def test_a_year_with_nothing_in_it_is_named_not_dropped(chat, utterance, year):
    out, calls, _ = chat(utterance)
    assert calls and calls[0]["tool"] == "query"
    assert f"No experiments from the year {year}" in out
    assert not _table_rows(out)


def test_this_year_is_honoured(chat):
    out, _, _ = chat(f"show me my experiments from {time.localtime().tm_year}")
    assert _table_rows(out)


@pytest.mark.parametrize("question", ["how good is it compared to the original?", "is it any good",
                                      "how close is it to the full model"])
def test_a_fresh_artifact_gets_an_offer_to_measure_it(chat, question):
    chat("quantize smollm2 to Q5_K_M")
    _, calls, _ = chat("yes")
    assert [c["tool"] for c in calls] == ["quantize"]
    out, calls, pending = chat(question)
    assert not calls and pending.get("slot") == "confirm" and "benchmark" in out.lower()
    _, calls, _ = chat("yes")
    assert [(c["tool"], c["args"].get("quant_type")) for c in calls] == [("benchmark", "Q5_K_M")]


def test_a_measured_artifact_is_answered_in_words_with_the_numbers(chat):
    out, calls, pending = chat("how does smollm2 q8_0 compare with the original")
    assert [c["tool"] for c in calls] == ["compare"] and not pending
    assert "close to the original" in out or "practically indistinguishable" in out
    assert "0.0050" in out and "perplexity" in out


def test_an_unknown_quant_type_is_named(chat):
    out, _, pending = chat("quantize smollm2 to q9_z")
    assert "Q9_Z is not a quant type" in out and pending.get("slot") == "quant_type"


def _r(**kw) -> dict:
    return {"ppl": 20.0, "kld_mean": 0.05, "gen_tok_s": 50.0, "eval_text": "wiki", "eval_tokens": 4096, "ctx": 512,
            "threads": 2, "cpu_busy": 0.0, **kw}


@pytest.mark.parametrize("rows,sort,says", [
    ([_r(), _r(eval_tokens=1024)], "quality", "different evaluation settings"),
    ([_r(), _r(eval_text="other")], "quality", "different texts"),
    ([_r(), _r(threads=4)], "speed", "different thread counts (2, 4)"),
    ([_r(), _r(cpu_busy=1.5)], "speed", "busy with other work"),
    ([_r(), _r(eval_tokens=1024, threads=4)], None, "thread counts"),
])
def test_settings_that_differ_are_said(rows, sort, says):
    from lqmf.copilot.app.query import settings_note

    assert says in (settings_note(rows, sort) or "")


@pytest.mark.parametrize("rows,sort", [
    ([_r(), _r()], "quality"), ([_r(), _r()], "speed"),
    ([_r(), _r(eval_tokens=1024)], "speed"),      # the text does not change a speed
    ([_r(), _r(threads=4)], "quality"),           # threads do not change a perplexity
])
def test_same_settings_need_no_warning(rows, sort):
    from lqmf.copilot.app.query import settings_note

    assert settings_note(rows, sort) is None


def test_a_finished_benchmark_is_announced_in_words():
    from lqmf.copilot.nodes.sync import describe_result

    row = {"status": "succeeded", "kind": "benchmark",
           "result": {"record": {"kld_mean": 0.031, "ppl": 21.0, "base_ppl": 20.0, "top1_pct": 93.0,
                                 "size_bytes": 105e6, "gen_tok_s": 61.0}}}
    text = describe_result({"job_id": "j1", "tool": "benchmark", "model": "smollm2", "quant_type": "Q5_K_M"}, row)
    assert "smollm2 Q5_K_M is close to the original" in text
    assert "0.0310" in text and "+5.0%" in text and "93%" in text and "61.0 tok/s" in text
