"""The LLM endpoints the README offers, really installed and running.

An OpenAI-compatible endpoint: llama-cpp-python's own server
(``python -m llama_cpp.server``, the ``[server]`` extra's packages are in
``lqmf[llm]``) serves the bundled SmolLM2 on loopback, and the real ``lqmf chat``
and ``lqmf parse --mode llm`` talk to it through langchain-openai. Ollama: its
provider selected with nothing listening gives one sentence with the fix.
Nothing is faked unless a test's name says so.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lqmf.copilot.nodes.respond import FALLBACK

ROOT = Path(__file__).resolve().parents[1]
LQMF = [sys.executable, "-m", "lqmf.copilot.cli"]
FREE_FORM = "tell me a joke about llamas"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bundled_gguf() -> str:
    from lqmf.tools.models import _bundled_file, catalog_entry

    return str(_bundled_file(catalog_entry("smollm2")))


def test_make_setup_installs_the_endpoint_packages():
    """`make setup` installs lqmf[llm]: the packages [chat] llm = "openai" / "ollama" need, and the
    server extra's. A failure here is the 'could not start (No module named ...)' users saw."""
    import importlib

    for name in ("langchain_openai", "langchain_ollama", "llama_cpp.server.app"):
        importlib.import_module(name)


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, killed in all cases."""
    port = free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", bundled_gguf(),
                                 "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
                                 "--n_ctx", "2048", "--n_threads", "2"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer in 120 s: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield {"url": f"http://127.0.0.1:{port}/v1", "log": log}
    finally:
        proc.kill()
        proc.wait(timeout=30)


def run_chat(lines: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*LQMF, "chat", "--script", "-"], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, env={**os.environ, **env}, cwd=ROOT, timeout=timeout)


def answers(transcript: str) -> list[str]:
    """What the copilot said after each scripted line (``> text`` in the transcript)."""
    out: list[list[str]] = []
    for line in transcript.splitlines():
        if line.startswith("> "):
            out.append([])
        elif out and line.strip():
            out[-1].append(line.strip())
    return ["\n".join(a) for a in out]


@pytest.mark.slow
def test_chat_free_form_reply_from_an_openai_compatible_server(openai_server, chat_env):
    from lqmf.copilot.parser import parse

    assert parse(FREE_FORM, "builtin")["intent"] == "unknown"   # the parser does not take it as a command
    res = run_chat([FREE_FORM], {"LQMF_CHAT_LLM": "openai", "LQMF_CHAT_LLM_URL": openai_server["url"],
                                 "LQMF_CHAT_LLM_MODEL": "smollm2"})
    both = res.stdout + res.stderr
    assert res.returncode == 0, both
    assert "could not start" not in both and "not answering" not in both and "Traceback" not in both, both
    said = answers(res.stdout)
    assert len(said) == 1 and said[0] and FALLBACK not in said[0], res.stdout
    assert "No LLM is configured" not in both
    # the reply really came from the server: it logged the chat completion it served
    assert '"POST /v1/chat/completions HTTP/1.1" 200' in openai_server["log"].read_text()


@pytest.mark.slow
def test_llm_parser_through_the_openai_compatible_server(openai_server):
    """The parser's LLM mode uses the same client layer; whatever the tiny model answers,
    the output is the contract's shape and names the endpoint's provider."""
    import json

    env = {**os.environ, "LQMF_PARSER_LLM": "openai", "LQMF_PARSER_LLM_URL": openai_server["url"],
           "LQMF_PARSER_LLM_MODEL": "smollm2"}
    res = subprocess.run([*LQMF, "parse", "--mode", "llm", "cancel job 3"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"intent", "slots"}
    # the endpoint answered: a validated parse from it, or its answer rejected by the schema check
    assert out.get("parser") == "llm:openai" or out.get("fallback", "").startswith("LLM answer rejected"), out
    assert openai_server["log"].read_text().count('"POST /v1/chat/completions HTTP/1.1" 200') >= 1


def test_ollama_with_nothing_listening_is_one_sentence_with_the_fix(chat_env):
    url = f"http://127.0.0.1:{free_port()}"
    res = run_chat([FREE_FORM, "sing me a song"], {"LQMF_CHAT_LLM": "ollama", "LQMF_CHAT_LLM_URL": url,
                                                   "LQMF_CHAT_LLM_MODEL": "smollm2"}, timeout=120)
    both = res.stdout + res.stderr
    assert res.returncode == 0, both
    assert "Traceback" not in both, both
    problem = [line for line in both.splitlines() if "ollama" in line.lower()]
    assert problem == [f"the ollama LLM at {url} is not answering (connection refused): start it with "
                       "`ollama serve`, point llm_url (in [chat], or LQMF_CHAT_LLM_URL) at a running one, "
                       "or set [chat] llm = \"none\"."], both
    said = answers(res.stdout)
    assert len(said) == 2 and all(a.startswith(FALLBACK) for a in said), res.stdout   # every turn still answered


def test_missing_langchain_package_is_one_sentence_faked_import(monkeypatch):
    """Fakes the missing package (a None entry in sys.modules makes its import fail)."""
    from lqmf.copilot import llm
    from lqmf.tools.errors import MissingComponent

    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    cfg = llm.LlmConfig(llm.Provider.OPENAI, "m", f"http://127.0.0.1:{free_port()}/v1/fake-missing-package")
    with pytest.raises(MissingComponent, match=r"needs langchain-openai, which is not installed: "
                                               r"pip install 'lqmf\[llm\]'"):
        llm.client(cfg)


@pytest.mark.parametrize("url,want", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),       # a bare server URL gets the API path
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ("http://host/openai/v1/", "http://host/openai/v1"),         # a path the user gave is kept
    ("", "https://api.openai.com/v1"),
])
def test_openai_endpoint_url(url, want):
    from lqmf.copilot import llm

    assert llm.endpoint(llm.LlmConfig(llm.Provider.OPENAI, url=url)) == want
