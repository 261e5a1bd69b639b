"""One importable package, `lqmf`: the four fixed folders are its subpackages."""
from __future__ import annotations

import json
import os
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
    # statements, and code handed to `python -c` in a string
    bad = re.compile(r"(^\s*|[\"';]\s*)(from|import)\s+(tools|copilot|prompts|knowledge)(\.|\s+import\b|\s*$)", re.M)
    hits = [f for f in _tracked("*.py") if bad.search((ROOT / f).read_text(encoding="utf-8"))]
    assert hits == []


def _source_copy(dest: Path) -> Path:
    """The files a clone has (tracked, plus new ones git does not ignore), copied out, so the
    build writes nothing into the checkout."""
    import shutil

    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    return dest


def test_the_installed_wheel_works_outside_the_checkout(tmp_path):
    """`pip install` of the built wheel (not editable) into a fresh venv: only `lqmf` lands in
    site-packages; it imports, finds prompts/ and knowledge/ inside that venv, and its `lqmf`
    script runs `parse` and `models` from a folder outside the repository. The dependencies come
    from this venv's site-packages through a .pth line: a .pth adds the folder to sys.path but
    the .pth files inside it are not run, so this venv's editable finder for lqmf stays out."""
    import sys
    import sysconfig

    src = _source_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "--disable-pip-version-check", "-w", str(wheels), str(src)], check=True, capture_output=True,
                   timeout=600)
    wheel = next(wheels.glob("lqmf-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    fresh = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip())
    before = set(p.name for p in fresh.iterdir())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True, timeout=600)
    gained = set(p.name for p in fresh.iterdir()) - before - {"__pycache__"}
    assert {g for g in gained if not re.fullmatch(r"lqmf-[\d.]+\.dist-info", g)} == {"lqmf"}, gained
    assert sorted(p.name for p in (fresh / "lqmf").iterdir()) == sorted(PARTS)   # nothing generic under it either

    ours = sysconfig.get_paths()["purelib"]
    assert any(f.startswith("__editable__") for f in os.listdir(ours))   # the finder this must keep out
    (fresh / "deps-from-the-test-venv.pth").write_text(ours + "\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["LQMF_HOME"] = str(tmp_path / "home")

    probe = (
        "import sys, importlib.resources as r, lqmf, lqmf.prompts, lqmf.knowledge, lqmf.copilot, lqmf.tools\n"
        "print(list(lqmf.__path__)[0])\n"
        "print((r.files(lqmf.prompts) / 'parse.md').is_file(), (r.files(lqmf.knowledge) / 'catalog.toml').is_file())\n"
        "print(any('editable' in type(f).__name__.lower() or 'editable' in repr(f).lower() for f in sys.meta_path))\n"
        "try:\n    import tools\nexcept ImportError:\n    print('no tools')\n"
        "try:\n    import copilot\nexcept ImportError:\n    print('no copilot')\n")
    res = subprocess.run([str(py), "-c", probe], cwd=outside, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    where, data, editable, no_tools, no_copilot = res.stdout.split("\n")[:5]
    assert Path(where) == fresh / "lqmf"
    assert data == "True True" and editable == "False" and no_tools == "no tools" and no_copilot == "no copilot"

    lqmf = venv / "bin" / "lqmf"
    got = subprocess.run([str(lqmf), "parse", "quantize smollm2 to 4-bit gguf"], cwd=outside, env=env,
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["slots"] == {"model": "smollm2", "method": "gguf", "bits": 4}
    models = subprocess.run([str(lqmf), "models"], cwd=outside, env=env, capture_output=True, text=True,
                            timeout=300)
    assert models.returncode == 0 and "Traceback" not in models.stderr, models.stderr
    assert "smollm2" in models.stdout
