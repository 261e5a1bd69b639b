"""One importable package, `lqmf`: the four fixed folders are its subpackages."""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("copilot", "tools", "prompts", "knowledge")


def _tracked(pattern: str) -> list[str]:
    return subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.split()


def test_every_package_folder_is_listed_under_lqmf():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {"lqmf." + str(Path(f).parent).replace("/", ".") for f in _tracked("*__init__.py")
               if f.split("/")[0] in PARTS}
    assert set(conf["packages"]) == on_disk
    assert conf["package-dir"] == {f"lqmf.{p}": p for p in PARTS}


def test_no_code_imports_a_generic_top_level_name():
    bad = re.compile(r"^\s*(from|import)\s+(tools|copilot|prompts|knowledge)\b", re.M)
    hits = [f for f in _tracked("*.py") if bad.search((ROOT / f).read_text(encoding="utf-8"))]
    assert hits == []
