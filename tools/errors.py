"""Every error a user can see, in one place: one sentence, and the fix.

Engines raise these; the CLI and the copilot print ``str(err)`` and nothing
else. Backend exceptions are turned into one of these by ``from_backend``
through the ``BACKEND_ERRORS`` table.
"""
from __future__ import annotations

import re


class LqmfError(Exception):
    """A problem the user can fix. ``str()`` is the whole message."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None):
        self.message = message.rstrip(".")
        self.fix = fix.rstrip(".") if fix else None
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}." if self.fix else f"{self.message}."


class ModelNotFound(LqmfError):
    """The reference names no bundled model, path or cached hub id."""


class ModelNotCached(LqmfError):
    """A hub id that is not in the local Hugging Face cache (no network)."""


class InvalidModel(LqmfError):
    """A path that is not a usable model (no config.json, no weights...)."""


class UnsupportedArchitecture(LqmfError):
    """The converter or backend cannot handle this architecture."""


class CorruptFile(LqmfError):
    """A truncated or corrupt GGUF / safetensors file."""


class UnknownQuantType(LqmfError):
    """A quant type or method name we do not know."""


class NotEnoughDisk(LqmfError):
    """The output would not fit in the free disk space."""


class ArtifactBusy(LqmfError):
    """Another run is writing the same output right now."""


class Interrupted(LqmfError):
    """The user pressed Ctrl-C; temporary files were removed."""

    exit_code = 130


class MissingComponent(LqmfError):
    """An optional part (extra, converter, bundled package) is not installed."""


class BackendFailed(LqmfError):
    """A backend failed in a way we could not map to a clearer cause."""


class InvalidInput(LqmfError):
    """Bad arguments or options."""


class StoreCorrupt(LqmfError):
    """The experiment store's files cannot be read."""


class StoreLocked(LqmfError):
    """Another process holds the experiment store's write lock too long."""


class StoreUnreachable(LqmfError):
    """The configured Chroma server does not answer."""


# Backend exception text (regex, case-insensitive) -> (error class, message, fix).
# ``{0}`` in the message is replaced by the first regex group when present.
BACKEND_ERRORS: list[tuple[str, type[LqmfError], str, str | None]] = [
    (r"Model (\w+) is not supported", UnsupportedArchitecture,
     "llama.cpp's converter does not support the architecture {0}",
     "choose a model of a supported family (llama, qwen2, mistral, gemma, phi3 ...)"),
    (r"No space left on device", NotEnoughDisk,
     "the disk filled up while writing", "free some space or pass --out on another disk"),
    (r"failed to (?:load|read) model|failed to open|invalid magic|gguf_init_from_file", CorruptFile,
     "llama.cpp could not read the model file; it looks truncated or corrupt",
     "re-create or re-download it"),
    (r"Error while deserializing header|SafetensorError|incomplete metadata", CorruptFile,
     "a safetensors file of the model is truncated or corrupt", "re-download the model"),
    (r"out of memory|Cannot allocate memory|MemoryError", BackendFailed,
     "the machine ran out of memory", "close other programs or pick a smaller model or quant type"),
    (r"Weights only load failed|weights_only", CorruptFile,
     "a pickle checkpoint of the model holds more than plain weights, so it was not loaded",
     "convert it to safetensors with a tool you trust, or use a safetensors copy of the model"),
    (r"contains custom code which must be executed|lqmf refused to run code", UnsupportedArchitecture,
     "llama.cpp's converter needs to run custom code from the model folder for this architecture",
     "read the folder's .py files, and pass --trust-remote-code only if you trust them"),
]


def from_backend(exc: BaseException | str, what: str = "the backend") -> LqmfError:
    """Map a backend exception (or its text) to one user-facing error."""
    if isinstance(exc, LqmfError):
        return exc
    text = str(exc) or type(exc).__name__
    for pattern, cls, message, fix in BACKEND_ERRORS:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            arg = m.group(1) if m.groups() else ""
            return cls(message.format(arg), fix)
    last = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
    return BackendFailed(f"{what} failed: {last[:300]}")


class JobNotFound(LqmfError):
    """No job with that id in the job store."""


class JobStoreCorrupt(LqmfError):
    """The job store file is damaged."""


class ImpossibleJob(LqmfError):
    """A job needs more than this machine has; it is refused, not queued forever."""


class RayUnavailable(LqmfError):
    """Ray is not installed or the cluster cannot be reached."""


class OutputInTheWay(LqmfError):
    """Something lqmf did not create (a folder, a device, a file) is where an output would go."""


class UnsafeModel(LqmfError):
    """Loading the model would run code from its folder, and the user did not allow it."""


class DataDirUnusable(LqmfError):
    """The data dir (``LQMF_HOME``) is not a folder lqmf can write to."""


# errno -> (message about ``{path}``, fix); used by ``from_os_error``.
OS_ERRORS: dict[str, tuple[str, str]] = {
    "ENOSPC": ("the disk filled up while writing {path}", "free some space or write to another disk"),
    "EDQUOT": ("the disk quota ran out while writing {path}", "free some space or write to another disk"),
    "EACCES": ("permission denied for {path}", "choose a place you can write to"),
    "EPERM": ("the system does not allow writing {path}", "choose a place you can write to"),
    "EROFS": ("{path} is on a read-only file system", "choose a place you can write to"),
    "ENAMETOOLONG": ("the path {path} is too long for the file system", "use a shorter name"),
    "ENOTDIR": ("a part of the path {path} is a file, not a folder", "choose a path whose folders are folders"),
    "EEXIST": ("{path} already exists and is not a folder", "choose another path"),
    "EISDIR": ("{path} is a folder", "name a file instead"),
    "ENOENT": ("{path} does not exist", "check the path"),
}


def short_path(path: object, limit: int = 120) -> str:
    """A path for a message: control characters escaped, very long ones shortened."""
    text = str(path).encode("unicode_escape", "backslashreplace").decode("ascii", "replace") \
        if any(ord(c) < 32 or ord(c) == 127 for c in str(path)) else str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2:]}"


def from_os_error(exc: OSError, path: object = None) -> LqmfError:
    """An operating-system error on a file as one sentence with the fix."""
    import errno as _errno

    name = _errno.errorcode.get(exc.errno or 0, "")
    where = short_path(exc.filename if exc.filename is not None else (path if path is not None else "a file"))
    if name in ("ENOSPC", "EDQUOT"):
        message, fix = OS_ERRORS[name]
        return NotEnoughDisk(message.format(path=where), fix)
    if name in OS_ERRORS:
        message, fix = OS_ERRORS[name]
        return InvalidInput(message.format(path=where), fix)
    return BackendFailed(f"could not use {where}: {exc.strerror or exc}")


def escape_controls(text: str) -> str:
    """Control characters (from names the user typed) shown escaped, not raw."""
    return "".join(c if c >= " " and c != "\x7f" else repr(c)[1:-1] for c in text)


class LlmUnavailable(LqmfError):
    """The configured LLM (a local GGUF or an endpoint) cannot start or does not answer."""
