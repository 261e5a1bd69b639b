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
