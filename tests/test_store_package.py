"""The store package: every module imports alone, and no module imports
another in a circle (counting imports inside functions too)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import lqmf.tools.store as pkg

PKG_DIR = Path(pkg.__file__).resolve().parent
PREFIX = "lqmf.tools.store"
MODULES = sorted(p.stem for p in PKG_DIR.glob("*.py") if p.stem != "__init__")


def _imports(module: str) -> set[str]:
    """Modules of the store package that ``module`` imports, anywhere in its code."""
    tree = ast.parse((PKG_DIR / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith(PREFIX + "."):
                part = name[len(PREFIX) + 1:].split(".")[0]
                if part in MODULES and part != module:
                    found.add(part)
    return found


def test_the_store_modules_import_no_circle():
    graph = {m: _imports(m) for m in MODULES}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep] if dep in path else [m, dep]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, path + [dep])
        state[m] = 2

    for m in MODULES:
        if m not in state:
            visit(m, [m])
    assert graph["records"] == set()            # records imports nothing else of the store
    assert "experiments" not in graph["records"] | graph["journal"] | graph["schema"]


def test_the_old_module_paths_are_gone():
    tools = PKG_DIR.parent
    for old in ("store.py", "records.py", "store_index.py", "store_schema.py", "store_files.py",
                "embeddings.py", "query.py", "query_exec.py", "compare.py"):
        assert not (tools / old).exists(), old


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_without_chromadb_or_torch(module):
    code = (f"import sys, lqmf.tools.store.{module}; "
            "heavy = [m for m in ('chromadb', 'torch', 'sentence_transformers') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()} at import time"
