"""One config table (lqmf.tools.settings) and one LLM layer (lqmf.copilot.llm):
configurations are passed in, so nothing here patches or resets a module global."""
from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from lqmf.copilot import llm
from lqmf.tools import settings
from lqmf.tools.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]
# LQMF_* names that are not settings: a parent hands them to its child process
PLUMBING = {"LQMF_WORKER_PID", "LQMF_NODE_IP", "LQMF_JOB_ID",
            "LQMF_BUILD_CACHE"}    # tools/llamacpp/build.py runs before lqmf is installed


def test_every_lqmf_variable_is_read_through_the_table():
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "copilot", "tools"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    read = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["'](LQMF_\w+)""")
    outside = {(f, name) for f in files if f.endswith(".py") and f != "tools/settings.py"
               for name in read.findall((ROOT / f).read_text(encoding="utf-8")) if name not in PLUMBING}
    assert outside == set()
    declared = [s.env for s in settings.TABLE if s.env]
    assert len(declared) == len(set(declared))


def test_environment_then_file_then_default():
    cfg = {"chat": {"llm": "gguf", "bench_chunks": 12}, "scheduler": {"ram_budget": "8G"}}
    assert settings.get("chat.llm", config=cfg, environ={}) == "gguf"
    assert settings.get("chat.llm", config=cfg, environ={"LQMF_CHAT_LLM": "OpenAI"}) == "openai"
    assert settings.get("chat.llm", config={}, environ={"LQMF_CHAT_LLM": ""}) == "none"   # empty: not set
    assert settings.get("chat.bench_chunks", config=cfg, environ={}) == 12
    assert settings.get("scheduler.ram_budget", config=cfg, environ={}) == "8G"
    assert settings.get("ray.ship_code", config={}, environ={"LQMF_RAY_SHIP_CODE": "0"}) is False
    # the older spellings still read: a top-level `parser = ...` and `chroma_url = ...`
    assert settings.get("parser.mode", config={"parser": "hybrid"}, environ={}) == "hybrid"
    assert settings.get("parser.mode", config={"parser": {"mode": "llm"}}, environ={}) == "llm"
    assert settings.get("store.chroma_url", config={"chroma_url": "http://h:1"}, environ={}) == "http://h:1"
    # environment-only settings ignore the file
    assert settings.get("home", config={"home": "/elsewhere"}, environ={}) == ""


@pytest.mark.parametrize("key,config,environ,message", [
    ("chat.llm", {"chat": {"llm": "gpt5"}}, {}, "unknown chat llm 'gpt5' (from [chat] llm): set [chat] llm to one of "
                                                "none, gguf, openai, ollama."),
    ("chat.bench_chunks", {}, {"LQMF_CHAT_BENCH_CHUNKS": "many"},
     "LQMF_CHAT_BENCH_CHUNKS = 'many' is not a valid int: set LQMF_CHAT_BENCH_CHUNKS to a whole number."),
    ("chat.bench_chunks", {"chat": {"bench_chunks": 2.5}}, {}, "is not a valid int"),
    ("store.lock_timeout", {"store": {"lock_timeout": -1}}, {}, "is negative"),
    ("ray.ship_code", {}, {"LQMF_RAY_SHIP_CODE": "perhaps"}, "set LQMF_RAY_SHIP_CODE to true or false."),
])
def test_a_bad_value_is_one_sentence_naming_where_it_was_set(key, config, environ, message):
    with pytest.raises(InvalidInput) as e:
        settings.get(key, config=config, environ=environ)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_table_renders_every_setting():
    md = settings.table_markdown()
    assert all(f"`{s.env}`" in md for s in settings.TABLE if s.env)


def test_chat_and_parser_llm_configs():
    chat = {"chat": {"llm": "openai", "llm_url": "http://127.0.0.1:1/v1", "llm_model": "m"}}
    assert llm.chat_config(chat, {}) == llm.LlmConfig(llm.Provider.OPENAI, "m", "http://127.0.0.1:1/v1")
    assert llm.parser_config(chat, {}) == llm.chat_config(chat, {})          # the parser falls back to [chat]
    own = {**chat, "parser_llm": {"llm": "ollama", "llm_model": "q"}}
    assert llm.parser_config(own, {}) == llm.LlmConfig(llm.Provider.OLLAMA, "q", "")
    assert llm.parser_config({}, {}) == llm.LlmConfig(llm.Provider.GGUF)      # else the bundled GGUF
    assert llm.parser_config({}, {"LQMF_PARSER_LLM": "openai"}).provider is llm.Provider.OPENAI


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_providers_follow_the_config_passed_in_without_any_reset():
    """Each configuration gets its own outcome: nothing to clear between them."""
    assert llm.provider(llm.LlmConfig()) is None
    assert llm.provider(llm.LlmConfig(llm.Provider.OLLAMA, "m", dead_url())) is None
    with pytest.raises(InvalidInput):
        llm.chat_config({"chat": {"llm": "telepathy"}}, {})
    assert llm.provider(llm.LlmConfig(llm.Provider.GGUF, "/nonexistent/model.gguf")) is None
    real = llm.provider(llm.LlmConfig(llm.Provider.GGUF))   # the bundled SmolLM2, right after a failing one
    assert real is not None   # (generation with it: tests/test_explain_docs.py, tests/test_llm_endpoints.py)
    assert llm.reply("say hi", [], fn=lambda t, h: "scripted") == "scripted"


def test_an_endpoint_that_fails_mid_chat_is_none_and_said_once_scripted(caplog):
    """The reply function is scripted to fail (the edge we do not own)."""
    import uuid

    tag = uuid.uuid4().hex

    def broken(text, history):
        raise ConnectionError(f"connection reset {tag}")

    with caplog.at_level("WARNING"):
        assert llm.reply("a", [], fn=broken) is None
        assert llm.reply("b", [], fn=broken) is None
    said = [r.getMessage() for r in caplog.records if tag in r.getMessage()]
    assert said == [f"the LLM did not answer (ConnectionError: connection reset {tag}): check that its server is "
                    "running, or set [chat] llm = \"none\"."]
