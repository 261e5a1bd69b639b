#!/usr/bin/env bash
# Build llama.cpp's own reference tools (llama-perplexity, llama-quantize) from
# the vendored source inside the llama-cpp-python sdist of the installed
# version, into .cache/llama.cpp-build (git-ignored; nothing of it is committed).
# Usage: bench/build_llama_tools.sh   (prints the bin folder)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SRC=.cache/llama.cpp-src
BUILD=.cache/llama.cpp-build
if [ ! -x "$BUILD/bin/llama-perplexity" ] || [ ! -x "$BUILD/bin/llama-quantize" ]; then
  if [ ! -f "$SRC/CMakeLists.txt" ]; then
    "$PY" - "$SRC" <<'PYEOF'
import sys, tempfile
from pathlib import Path
from tools.llamacpp.sdist import download_sdist, extract
with tempfile.TemporaryDirectory() as tmp:
    extract(download_sdist(Path(tmp)), Path(sys.argv[1]))
PYEOF
  fi
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=ON >/dev/null
  cmake --build "$BUILD" --target llama-perplexity llama-quantize -j "$(nproc)" >"$SRC.build.log" 2>&1 || { tail -30 "$SRC.build.log"; exit 1; }
fi
echo "$BUILD/bin"
