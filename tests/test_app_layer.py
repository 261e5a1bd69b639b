"""The application layer is the one road into the engines: no front end (the
CLI, the chat's nodes and tools, the REPL, voice, the server) imports ``lqmf.tools.*``
except the error types and the data-dir configuration; they call
``lqmf.copilot.app``. Scans every import statement, also those inside functions."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT_ENDS = ["copilot/cli", "copilot/nodes", "copilot/repl.py", "copilot/voice", "copilot/tools_registry.py",
              "copilot/commands.py", "copilot/server"]
ALLOWED = {
    "lqmf.tools.errors",   # the project's error types (front ends print them in one place)
    "lqmf.tools.config",   # where the data dir is, thread counts: configuration, not an engine
}


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``lqmf.tools`` import in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            mods = [f"lqmf.{a.name}" for a in node.names] if node.module == "lqmf" else [node.module]
            out.extend((node.lineno, m) for m in mods)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return sorted((n, m) for n, m in out if m == "lqmf.tools" or m.startswith("lqmf.tools."))


def front_end_files() -> list[Path]:
    files = []
    for rel in FRONT_ENDS:
        p = ROOT / rel
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return files


def test_no_front_end_imports_an_engine():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}"
           for p in front_end_files() for line, mod in imported(p) if mod not in ALLOWED]
    assert not bad, "front ends must call lqmf.copilot.app, not the engines:\n" + "\n".join(bad)


def test_the_scan_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("def run():\n    from lqmf.tools.quantize import quantize\n    import lqmf.tools.scheduler\n"
                 "from lqmf.tools.errors import InvalidInput\nfrom lqmf import tools\n")
    assert [m for _, m in imported(f)] == ["lqmf.tools.quantize", "lqmf.tools.scheduler", "lqmf.tools.errors",
                                            "lqmf.tools"]


def test_the_front_ends_exist():
    assert len(front_end_files()) > 20   # the scan is not vacuous


def test_no_node_imports_the_session_or_the_graph():
    """The graph imports the nodes; a node that imported the session (which builds the graph) closed a circle."""
    def mods(path: Path) -> set[str]:
        return {n.module for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(n, ast.ImportFrom) and n.module}

    bad = [f"{p.name} imports {m}" for p in sorted((ROOT / "copilot/nodes").glob("*.py"))
           for m in mods(p) & {"lqmf.copilot.session", "lqmf.copilot.graph"}]
    assert not bad, bad
