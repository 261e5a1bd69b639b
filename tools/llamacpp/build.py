"""Build llama-cpp-python (and llama.cpp's own tools) so that it is correct on
the CPU it runs on.

Why: with ``GGML_NATIVE`` on a CPU with AMX, ggml compiles its AMX backend,
repacks q4_K/q6_K/q8_0 tensors into an AMX buffer, and the first decode
segfaults (ggml-org/llama.cpp#20824). ``-DGGML_AMX_*=OFF`` is ignored while
NATIVE is on; ``-mno-amx-*`` in the C/C++ flags turns the AMX code off and
keeps the CPU repack (measured side by side in ``bench/amx_choice.py``).
The flags are harmless on CPUs without AMX.

pip's wheel cache ignores ``CMAKE_ARGS``, and a ``-march=native`` wheel is
only valid on the CPU type that built it, so we keep our own wheel cache,
keyed by package version, build flags, compiler and the CPU's feature set.

This file uses only the standard library: ``make setup`` runs it before
anything else is installed (``python tools/llamacpp/build.py wheel``).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = "llama-cpp-python"
VERSION = "0.3.36"
# The one place the build flags are declared; the wheel and the reference
# tools both use them, and the cache key is derived from them.
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
CMAKE_FLAGS = (
    "-DGGML_NATIVE=ON",
    f"-DCMAKE_C_FLAGS={NO_AMX}",
    f"-DCMAKE_CXX_FLAGS={NO_AMX}",
)
TOOL_TARGETS = ("llama-perplexity", "llama-quantize", "llama-bench", "llama-imatrix")
MANIFEST = "lqmf-build.json"


def cpu_flags() -> list[str]:
    """The CPU's feature flags (``/proc/cpuinfo``), sorted."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return sorted(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _native_target() -> str:
    """What ``-march=native`` expands to here: the compiler's own view of the CPU."""
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc") or "cc"
    try:
        out = subprocess.run([cc, "-march=native", "-Q", "--help=target"], capture_output=True,
                             text=True, timeout=30).stdout
        ver = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown-compiler"
    return (ver.splitlines() or [""])[0] + "\n" + out


def build_key(version: str = VERSION) -> str:
    """Version + flags + compiler + CPU features: a build is reused only when all match."""
    h = hashlib.sha256()
    for part in (version, platform.machine(), sys.version.split()[0], " ".join(CMAKE_FLAGS),
                 " ".join(cpu_flags()), _native_target()):
        h.update(part.encode() + b"\0")
    return f"{version}-{h.hexdigest()[:16]}"


def cache_root() -> Path:
    env = os.environ.get("LQMF_BUILD_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lqmf" / "builds"


def build_dir(version: str = VERSION) -> Path:
    return cache_root() / build_key(version)


def manifest(version: str = VERSION) -> dict:
    """What was built for this CPU ({} when nothing yet)."""
    path = build_dir(version) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(d: Path, **extra) -> None:
    data = manifest() | {"version": VERSION, "key": d.name, "cmake_args": list(CMAKE_FLAGS),
                         "cpu": cpu_model(), "cpu_flags": cpu_flags()} | extra
    tmp = d / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(d / MANIFEST)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join(f"'{f}'" if " " in f else f for f in CMAKE_FLAGS)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    return env


def sdist(dest: Path) -> Path:
    """The sdist of VERSION, downloaded once into the build cache."""
    dest.mkdir(parents=True, exist_ok=True)
    name = f"llama_cpp_python-{VERSION}.tar.gz"
    if (dest / name).is_file():
        return dest / name
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "--no-build-isolation", f"{PACKAGE}=={VERSION}", "-d", tmp],
                       capture_output=True, text=True)
        got = Path(tmp) / name
        if not got.is_file():
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                   "--no-binary", ":all:", f"{PACKAGE}=={VERSION}", "-d", tmp],
                                  capture_output=True, text=True)
            if not got.is_file():
                sys.exit(f"error: could not download the {PACKAGE} {VERSION} sdist "
                         f"({(proc.stderr or 'no output').strip().splitlines()[-1]}). "
                         "Check that PyPI is reachable, then run `make setup` again.")
        got.replace(dest / name)
    return dest / name


def wheel() -> Path:
    """The wheel for this CPU: from our cache, or built once (4-11 minutes)."""
    d = build_dir()
    found = sorted(d.glob("llama_cpp_python-*.whl"))
    if found:
        return found[0]
    d.mkdir(parents=True, exist_ok=True)
    src = sdist(cache_root() / "sdist")
    print(f"building {PACKAGE} {VERSION} for this CPU ({cpu_model()}), once: 4-11 minutes", file=sys.stderr)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir",
                               "-w", tmp, str(src)], env=_env(), capture_output=True, text=True)
        built = sorted(Path(tmp).glob("llama_cpp_python-*.whl"))
        if proc.returncode != 0 or not built:
            (d / "wheel-build.log").write_text(proc.stdout + proc.stderr)
            sys.exit(f"error: building {PACKAGE} failed; the log is {d / 'wheel-build.log'}")
        final = d / built[0].name
        built[0].replace(final)
    _write_manifest(d, wheel=final.name, wheel_build_s=round(time.monotonic() - t0, 1))
    print(f"built {final.name} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return final


def installed_build_key() -> str | None:
    """The key recorded beside the installed package by ``install``."""
    marker = Path(sys.prefix) / "share" / "lqmf" / "llama-build.key"
    try:
        return marker.read_text().strip()
    except OSError:
        return None


def install() -> None:
    """Install the wheel for this CPU into the running Python, unless it is already there."""
    key = build_key()
    if installed_build_key() == key and _installed_version() == VERSION:
        return
    whl = wheel()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--force-reinstall", str(whl)], check=True)
    marker = Path(sys.prefix) / "share" / "lqmf" / "llama-build.key"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(key + "\n")


def _installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def tools() -> Path:
    """llama.cpp's own reference tools, built from the same sdist with the same flags."""
    d = build_dir()
    bin_dir = d / "tools" / "bin"
    if all((bin_dir / t).is_file() for t in TOOL_TARGETS):
        return bin_dir
    import tarfile

    src_tar = sdist(cache_root() / "sdist")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        with tarfile.open(src_tar) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / f"llama_cpp_python-{VERSION}" / "vendor" / "llama.cpp"
        build = Path(tmp) / "build"
        cfg = ["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF",
               "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF",
               "-DBUILD_SHARED_LIBS=OFF", *CMAKE_FLAGS]
        log = d / "tools-build.log"
        with open(log, "w") as out:
            ok = subprocess.run(cfg, stdout=out, stderr=subprocess.STDOUT).returncode == 0 and subprocess.run(
                ["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", *TOOL_TARGETS],
                stdout=out, stderr=subprocess.STDOUT).returncode == 0
        if not ok:
            sys.exit(f"error: building llama.cpp's tools failed; the log is {log}")
        staged = Path(tmp) / "bin"
        staged.mkdir()
        for t in TOOL_TARGETS:
            shutil.copy2(build / "bin" / t, staged / t)
        (d / "tools").mkdir(exist_ok=True)
        if bin_dir.exists():
            shutil.rmtree(bin_dir)  # our own cache folder, made by this function
        staged.replace(bin_dir)
    _write_manifest(d, tools=list(TOOL_TARGETS), tools_build_s=round(time.monotonic() - t0, 1))
    print(f"built llama.cpp tools in {time.monotonic() - t0:.0f} s: {bin_dir}", file=sys.stderr)
    return bin_dir


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "install"
    if cmd == "wheel":
        print(wheel())
    elif cmd == "install":
        install()
    elif cmd == "tools":
        print(tools())
    elif cmd == "key":
        print(build_key())
    else:
        print("usage: build.py install|wheel|tools|key", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
