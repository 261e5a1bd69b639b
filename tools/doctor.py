"""``lqmf doctor``: this machine, the llama.cpp build, the libraries, and a
self-check that each bundled model loads and evaluates a few tokens in a
child process (a crash there is reported as a sentence, with its signal)."""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata


@dataclass
class CheckResult:
    model: str
    ok: bool
    message: str
    seconds: float = 0.0


@dataclass
class LlamaBuild:
    version: str | None
    build_key: str | None
    installed_key: str | None
    matches_cpu: bool
    cmake_args: list[str]
    amx_compiled: bool
    system_info: str


@dataclass
class Report:
    machine: dict
    llama: LlamaBuild
    versions: dict[str, str | None]
    data_dir: str
    python: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and self.llama.matches_cpu and not self.llama.amx_compiled

    def to_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def llama_build() -> LlamaBuild:
    from lqmf.tools.llamacpp import build

    info, amx = "", False
    try:
        from lqmf.tools.llamacpp.runtime import build_has_amx, system_info

        info, amx = system_info(), build_has_amx()
    except Exception as e:  # noqa: BLE001 - reported, not raised
        info = f"could not load llama_cpp: {e}"
    key, installed = build.build_key(), build.installed_build_key()
    return LlamaBuild(_version("llama_cpp_python"), key, installed, installed == key,
                      build.manifest().get("cmake_args", list(build.CMAKE_FLAGS)), amx, info)


def self_check(models: list[str] | None = None) -> list[CheckResult]:
    """Load each bundled (or given) model in a child process and evaluate a few tokens."""
    import time

    from lqmf.tools.errors import LqmfError
    from lqmf.tools.models import bundled_models, resolve
    from lqmf.tools.benchmark.quality import ENGINE
    from lqmf.tools.proc import run_child

    out = []
    for name in models or bundled_models():
        t0 = time.perf_counter()
        try:
            path = resolve(name).path
            res = run_child(ENGINE, {"op": "selfcheck", "model": str(path), "threads": 1},
                            what=f"the self-check of {name}", timeout=300)
            ok = bool(res.get("ok"))
            msg = f"loaded and evaluated {res.get('tokens')} tokens" if ok else "produced non-finite logits"
        except LqmfError as e:
            ok, msg = False, str(e)
        out.append(CheckResult(name, ok, msg, round(time.perf_counter() - t0, 2)))
    return out


def doctor(check: bool = True) -> Report:
    from lqmf.tools.config import data_dir
    from lqmf.tools.hardware import machine

    versions = {p: _version(p) for p in ("torch", "transformers", "chromadb", "langgraph", "gguf", "numpy")}
    return Report(machine().to_dict(), llama_build(), versions, str(data_dir()), sys.version.split()[0],
                  self_check() if check else [])


def build_advice(b: LlamaBuild) -> str | None:
    """One sentence when the installed llama.cpp build does not suit this CPU."""
    if b.amx_compiled:
        return ("the installed llama-cpp-python has ggml's AMX code compiled in, which crashes on this kind of CPU "
                "(models are loaded without the AMX buffers as a guard): run `make setup` to rebuild it")
    if not b.matches_cpu:
        return ("the installed llama-cpp-python was not built by `make setup` for this CPU and these flags: "
                "run `make setup` to build the right one")
    return None
