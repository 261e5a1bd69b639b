"""Files from the llama-cpp-python sdist of the installed version.

The installed wheel has no HF→GGUF converter and no CLI tools, but its sdist
vendors llama.cpp with both. ``install_converter`` takes the converter (and
the gguf-py it needs) from that sdist at install time; nothing of it is
committed to this repository.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lqmf.tools.config import vendor_dir
from lqmf.tools.errors import MissingComponent

PACKAGE = "llama-cpp-python"
CONVERTER_MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise MissingComponent("llama-cpp-python is not installed",
                               "run `make setup` (it builds it once, about 5 minutes)") from None


def converter_dir() -> Path:
    return vendor_dir() / f"llama.cpp-{installed_version()}"


def find_converter() -> Path:
    """The folder holding convert_hf_to_gguf.py, or one clear error."""
    conv = converter_dir()
    if not (conv / "convert_hf_to_gguf.py").is_file():
        raise MissingComponent("llama.cpp's HF→GGUF converter is not installed",
                               "run `lqmf setup` (or `make setup`) once to take it from the llama-cpp-python sdist")
    return conv


def download_sdist(dest: Path) -> Path:
    """Fetch the sdist of the installed version through pip (its cache first)."""
    version = installed_version()
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(dest.glob(f"llama_cpp_python-{version}.tar.gz"))
    if existing:
        return existing[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--no-build-isolation", f"{PACKAGE}=={version}", "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not found:
        # --no-build-isolation fails on machines without scikit-build-core;
        # the sdist is still downloaded before metadata preparation fails.
        proc = subprocess.run([c for c in cmd if c != "--no-build-isolation"], capture_output=True, text=True)
        found = sorted(dest.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MissingComponent(f"could not download the {PACKAGE} {version} sdist ({tail[0]})",
                               "check that PyPI is reachable, then run `lqmf setup` again")
    return found[0]


def extract(tarball: Path, dest: Path, members: tuple[str, ...] | None = None) -> Path:
    """Extract ``vendor/llama.cpp/<members>`` (all when None) into ``dest``."""
    prefix_re = re.compile(r"^[^/]+/vendor/llama\.cpp/")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for m in tar.getmembers():
            if not prefix_re.match(m.name):
                continue
            rel = prefix_re.sub("", m.name)
            if not rel or (members and not any(rel == x or rel.startswith(x) for x in members)):
                continue
            if m.isdir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            if not m.isfile():
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            member = tar.extractfile(m)
            if member is None:  # only for non-files, which were skipped above
                continue
            with member as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    return dest


def install_converter(force: bool = False) -> Path:
    """Put the converter for the installed version under the vendor dir."""
    final = converter_dir()
    if (final / "convert_hf_to_gguf.py").is_file() and not force:
        return final
    with tempfile.TemporaryDirectory() as tmp:
        tarball = download_sdist(Path(tmp))
        staged = extract(tarball, Path(tmp) / "stage", CONVERTER_MEMBERS)
        if final.exists() or final.is_symlink():
            if not (final / "convert_hf_to_gguf.py").is_file() or final.is_symlink():
                from lqmf.tools.errors import OutputInTheWay
                raise OutputInTheWay(f"{final} exists and does not hold lqmf's converter",
                                     "move it away or set LQMF_VENDOR_DIR to another folder")
            shutil.rmtree(final)  # our own earlier install (it holds the converter)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(final))
    return final


def supported_architectures(conv: Path) -> set[str]:
    """Architectures the converter registers (``@ModelBase.register("X", ...)``)."""
    names: set[str] = set()
    for f in [conv / "convert_hf_to_gguf.py", *sorted((conv / "conversion").glob("*.py"))]:
        if not f.is_file():
            continue
        for args in re.findall(r"@\w+\.register\(([^)]*)\)", f.read_text(errors="replace")):
            names.update(re.findall(r"[\"']([\w.\-]+)[\"']", args))
    return names
