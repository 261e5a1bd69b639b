"""Fast unit tests of the nodes plan, ask, act, sync and respond. Their
dependencies come as LangGraph's runtime context (an ``App``): the real job
queue in a fresh data dir (standing in the noop kind, no worker), the plain
JSONL experiment store, and a fake LLM where a test says so (the edge we do
not own). No module global is reset and no environment switch is set."""
from __future__ import annotations

import pytest
from langgraph.runtime import Runtime

from lqmf.copilot.app import App, testing
from lqmf.copilot.app.types import Status
from lqmf.copilot.state import AskResult, Intent, ToolName


@pytest.fixture
def app(tmp_path) -> App:
    from lqmf.tools.store.journal import JsonlStore

    return testing.app("noop", worker=False, open_store=lambda: JsonlStore(tmp_path / "records.jsonl"))


def rt(app: App) -> Runtime:
    return Runtime(context=app)


def jobs_store():
    from lqmf.tools.scheduler import JobStore

    return JobStore()


# ---- plan (pure) ---------------------------------------------------------------
def test_plan_asks_for_the_type_then_plans_and_asks_to_confirm():
    from lqmf.copilot.nodes.plan import plan

    up = plan({"intent": "quantize", "slots": {"model": "smollm2"}})
    assert up["question"]["slot"] == "quant_type" and up["plan"] == []
    up = plan({"intent": "quantize", "slots": {"model": "smollm2", "quant_type": "Q4_K_M", "and_benchmark": True}})
    steps = up["plan"]
    assert [s["tool"] for s in steps] == [ToolName.QUANTIZE, ToolName.BENCHMARK]
    assert isinstance(steps[0]["tool"], ToolName) and steps[1]["after"] == [steps[0]["id"]]
    assert up["question"]["slot"] == "confirm" and up["plan_goal"] is None


def test_plan_tune_is_one_tune_job_with_the_gate_from_the_slots():
    from lqmf.copilot.nodes.plan import plan

    up = plan({"intent": "tune", "slots": {"model": "smollm2", "max_kld": 0.05}})
    assert [s["tool"] for s in up["plan"]] == [ToolName.TUNE]
    assert up["plan"][0]["args"] == {"model": "smollm2", "gate": "kld<=0.05"}
    assert "the smallest quant that passes kld<=0.05" in up["out"][0]["text"]
    # "... with bitsandbytes": the parser's method is the tune's method (a mix of methods: tools/tune/paths.py)
    up = plan({"intent": "tune", "slots": {"model": "smollm2", "max_kld": 0.05, "method": "bnb"}})
    assert up["plan"][0]["args"] == {"model": "smollm2", "gate": "kld<=0.05", "methods": ["bnb"]}


# ---- ask (a one-node graph: interrupt and resume are LangGraph's) ------------------
def ask_graph():
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from lqmf.copilot.nodes.ask import ask
    from lqmf.copilot.state import ChatState

    g = StateGraph(ChatState)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("answer,result,extra", [
    ("yes", AskResult.CONFIRMED, {"confirmed": True}),
    ("no", AskResult.DROPPED, {"plan": []}),
    ("actually use Q8_0", AskResult.ANSWERED, {"request": {"intent": "quantize", "model": "smollm2",
                                                           "quant_type": "Q8_0"}}),
])
def test_ask_reads_the_answer_to_a_confirm(answer, result, extra):
    from langgraph.types import Command

    g, cfg = ask_graph(), {"configurable": {"thread_id": "t"}}
    question = {"slot": "confirm", "prompt": "Go ahead? [Y/n]", "choices": ["yes", "no"], "default": "yes"}
    first = g.invoke({"question": question, "request": {"intent": "quantize", "model": "smollm2",
                                                        "quant_type": "Q4_K_M"}}, cfg)
    assert first["__interrupt__"][0].value == question
    state = g.invoke(Command(resume=answer), cfg)
    assert state["ask_result"] == result.value
    for k, v in extra.items():
        got = state.get(k)
        assert (got == v) if not isinstance(v, dict) else all(got.get(kk) == vv for kk, vv in v.items()), (k, got)
    if result is AskResult.DROPPED:
        assert state["request"] == {} and "nothing was started" in state["out"][-1]["text"]   # cleared


# ---- act (the App through the runtime context) ------------------------------------
def test_act_applies_each_tools_own_effects(app, chat_home):
    from lqmf.copilot.journal import journaled
    from lqmf.copilot.nodes.act import act

    plan = [{"id": "s0", "tool": ToolName.QUANTIZE, "args": {"model": "smollm2", "quant_type": "Q4_K_M"},
             "label": "q", "expensive": True, "after": []},
            {"id": "s1", "tool": ToolName.BENCHMARK, "args": {"model": "smollm2", "quant_type": "Q4_K_M"},
             "label": "b", "expensive": True, "after": ["s0"]}]
    up = act({"plan": plan, "plan_goal": {"max_kld": 0.05}, "request": {"intent": "tune", "model": "smollm2"}},
             {"configurable": {"thread_id": "th1"}}, rt(app))
    q_id, b_id = (t["job_id"] for t in up["tracked"])
    assert up["calls"][1]["args"]["job_id"] == q_id                     # the benchmark waits for its quantize
    assert up["focus"]["batch_jobs"] == [q_id] and up["focus"]["job_id"] == q_id
    assert up["goal"] == {"max_kld": 0.05, "jobs": [b_id], "announced": False}
    assert [j["job_id"] for j in journaled("th1")] == [q_id, b_id]       # journaled before the checkpoint
    s = jobs_store()
    try:
        assert [j.kind.value for j in s.list()] == ["noop", "noop"]      # the test App's stand-in kind
        assert s.get(b_id).depends_on == q_id
    finally:
        s.close()


def test_act_a_failing_step_skips_the_steps_after_it(app, chat_home):
    from lqmf.copilot.nodes.act import act

    plan = [{"id": "s0", "tool": ToolName.CANCEL, "args": {"job_id": "nosuchjob"}, "label": "c", "after": []},
            {"id": "s1", "tool": ToolName.BENCHMARK, "args": {"model": "smollm2"}, "label": "bench it",
             "after": ["s0"]}]
    up = act({"plan": plan}, {}, rt(app))
    assert up["out"][0] == {"kind": "error", "text": "there is no job nosuchjob: say 'jobs' to see the job ids."}
    assert "Skipped: bench it" in up["out"][1]["text"] and up["tracked"] == []


# ---- sync --------------------------------------------------------------------------
def test_sync_announces_finished_jobs_and_answers_the_goal(app, chat_home):
    from lqmf.copilot.app import jobs
    from lqmf.copilot.nodes.sync import sync

    ids = jobs.submit(app, "benchmark", [{"target": "a"}, {"target": "b"}])
    s = jobs_store()
    try:
        for jid, size, kld in zip(ids, (200_000_000, 100_000_000), (0.01, 0.09)):
            rec = {"quant_type": "Q8_0" if kld < 0.05 else "Q3_K_M", "size_bytes": size, "kld_mean": kld,
                   "artifact": f"/x/{jid}.gguf"}
            s.update(jid, state=Status.SUCCEEDED, result={"record": rec})
    finally:
        s.close()
    tracked = [{"job_id": j, "tool": "benchmark", "model": "smollm2", "status": "queued", "announced": False}
               for j in ids]
    up = sync({"tracked": tracked, "goal": {"max_kld": 0.05, "jobs": ids, "announced": False}}, {}, rt(app))
    texts = [b["text"] for b in up["out"][1:]]
    assert all(f"Job {j} (benchmark smollm2) finished (dry run)" in t for j, t in zip(ids, texts))
    assert texts[-1].startswith("Best within max_kld 0.05: Q8_0 (")      # the larger one: the small one fails the limit
    assert up["goal"]["announced"] is True
    assert {u["job_id"]: u["status"] for u in up["tracked"]} == {j: "succeeded" for j in ids}


def test_sync_with_nothing_to_watch_does_not_touch_the_queue():
    from lqmf.copilot.nodes.sync import sync

    class NoQueue:  # any use of the job queue fails the test
        def __getattr__(self, name):
            raise AssertionError(f"the job queue was used ({name})")

    assert sync({"tracked": [{"job_id": "x", "announced": True}]}, {}, rt(App(jobs=NoQueue()))) == \
        {"out": [{"kind": "reset"}]}


# ---- respond: the LLM is the edge we do not own ------------------------------------
def test_respond_asks_the_contexts_llm_fake():
    from lqmf.copilot.nodes.respond import respond

    seen = []
    fake = App(llm=lambda: (lambda text, hist: seen.append(text) or "fake reply"))
    up = respond({"intent": Intent.UNKNOWN.value, "text": "tell me a joke"}, rt(fake))
    assert up["out"] == [{"kind": "text", "text": "fake reply"}] and seen == ["tell me a joke"]
    none = respond({"intent": Intent.UNKNOWN.value, "text": "joke"}, rt(App(llm=lambda: None)))
    assert "No LLM is configured" in none["out"][1]["text"]


def test_the_graph_passes_its_context_to_the_nodes(app, chat_home):
    """The compiled graph (with context_schema=App) hands the run's context to every node."""
    from langgraph.checkpoint.memory import InMemorySaver

    from lqmf.copilot.graph import build

    seen = []
    app.llm = lambda: (lambda text, hist: seen.append(text) or "from the context")
    g = build(InMemorySaver())
    out = g.invoke({"text": "sing me a song"}, {"configurable": {"thread_id": "g"}}, context=app)
    assert seen == ["sing me a song"] and out["out"][-1]["text"] == "from the context"


@pytest.fixture
def chat_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
