"""Read the headers of GGUF and safetensors files without loading weights.

Used to inspect models and to catch truncated or corrupt files before a
backend trips over them.
"""
from __future__ import annotations

import contextlib
import json
import mmap
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lqmf.tools.errors import CorruptFile

GGUF_MAGIC = b"GGUF"

# ggml type id -> (name, elements per block, bytes per block)
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
}

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}


@dataclass
class GGUFInfo:
    path: Path
    version: int
    metadata: dict[str, object]
    tensors: dict[str, tuple[tuple[int, ...], str]] = field(default_factory=dict)
    n_params: int = 0
    data_bytes: int = 0

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def get(self, key: str, default: object = None) -> object:
        return self.metadata.get(key, default)


class _Reader:
    """Walks a memory-mapped GGUF header (fast enough to skip a 100k-token vocabulary)."""

    def __init__(self, buf, size: int, path: Path):
        self.buf, self.size, self.path, self.pos = buf, size, path, 0

    def _truncated(self) -> CorruptFile:
        return CorruptFile(f"{self.path} is truncated (its header ends early)", "re-create or re-download the file")

    def read(self, n: int) -> bytes:
        if self.pos + n > self.size:
            raise self._truncated()
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt: str):
        n = struct.calcsize(fmt)
        if self.pos + n > self.size:
            raise self._truncated()
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return v

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > self.size:
            raise CorruptFile(f"{self.path} is corrupt (a string length is impossible)",
                              "re-create or re-download the file")
        return self.read(n).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        buf, pos, size, unpack_from = self.buf, self.pos, self.size, struct.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise self._truncated()
            pos += 8 + unpack_from("<Q", buf, pos)[0]
        if pos > size:
            raise self._truncated()
        self.pos = pos

    def value(self, vtype: int, keep: bool = True):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            itype, n = self.unpack("<I"), self.unpack("<Q")
            if n > self.size:
                raise CorruptFile(f"{self.path} is corrupt (an array length is impossible)",
                                  "re-create or re-download the file")
            if not keep and itype in _SCALARS:
                self.pos += struct.calcsize(_SCALARS[itype]) * n
                if self.pos > self.size:
                    raise self._truncated()
                return n
            if not keep and itype == 8:
                self.skip_strings(n)
                return n
            items = [self.value(itype, keep) for _ in range(n)]
            return items if keep else n
        raise CorruptFile(f"{self.path} is corrupt (unknown metadata type {vtype})",
                          "re-create or re-download the file")


def read_gguf(path: Path, keep_arrays: bool = False) -> GGUFInfo:
    """Parse a GGUF header and check that every tensor's data is in the file.

    Large arrays (the tokenizer's vocabulary) are skipped unless
    ``keep_arrays``; their length is kept instead.
    """
    path = Path(path)
    st = path.stat()
    return _read_gguf_cached(path.resolve(), st.st_size, st.st_mtime_ns, keep_arrays)


@lru_cache(maxsize=32)
def _read_gguf_cached(path: Path, size: int, mtime_ns: int, keep_arrays: bool) -> GGUFInfo:
    with open(path, "rb") as f, (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else
                                 contextlib.nullcontext(b"")) as buf:
        r = _Reader(buf, size, path)
        if size < 24 or r.read(4) != GGUF_MAGIC:
            raise CorruptFile(f"{path} is not a GGUF file (bad magic bytes)",
                              "pass a .gguf made by llama.cpp, or a Hugging Face model folder")
        version = r.unpack("<I")
        if version not in (2, 3):
            raise CorruptFile(f"{path} has unsupported GGUF version {version}",
                              "re-create it with a current llama.cpp")
        n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
        if n_tensors > 1_000_000 or n_kv > 1_000_000:
            raise CorruptFile(f"{path} is corrupt (impossible header counts)",
                              "re-create or re-download the file")
        meta: dict[str, object] = {}
        for _ in range(n_kv):
            key = r.string()
            vtype = r.unpack("<I")
            meta[key] = r.value(vtype, keep=keep_arrays or vtype != 9)
        info = GGUFInfo(path, version, meta)
        end = 0
        for _ in range(n_tensors):
            name = r.string()
            n_dims = r.unpack("<I")
            if n_dims > 8:
                raise CorruptFile(f"{path} is corrupt (tensor {name} has {n_dims} dims)",
                                  "re-create or re-download the file")
            dims = tuple(r.unpack("<Q") for _ in range(n_dims))
            ttype, offset = r.unpack("<I"), r.unpack("<Q")
            tname, block, bsize = GGML_TYPES.get(ttype, (f"type{ttype}", 1, 0))
            n = 1
            for d in dims:
                n *= d
            info.tensors[name] = (dims, tname)
            info.n_params += n
            nbytes = n // block * bsize
            info.data_bytes += nbytes
            end = max(end, offset + nbytes)
        align_v = meta.get("general.alignment", 32) or 32
        align = int(align_v) if isinstance(align_v, (int, float, str)) else 32
        header_end = r.pos
        data_start = (header_end + align - 1) // align * align
    if data_start + end > size:
        raise CorruptFile(
            f"{path} is truncated: its tensors need {data_start + end} bytes but the file has {size}",
            "re-create or re-download the file")
    return info


@dataclass
class SafetensorsInfo:
    path: Path
    tensors: dict[str, tuple[tuple[int, ...], str]]
    n_params: int
    dtypes: set[str]


def read_safetensors(path: Path) -> SafetensorsInfo:
    """Parse a safetensors header and check the file holds all its data."""
    path = Path(path)
    size = path.stat().st_size
    bad = CorruptFile(f"{path} is truncated or corrupt", "re-download the model")
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise bad
        n = struct.unpack("<Q", head)[0]
        if n <= 0 or n > min(size - 8, 100 << 20):
            raise bad
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise bad from None
    tensors, params, dtypes, end = {}, 0, set(), 0
    for name, t in header.items():
        if name == "__metadata__" or not isinstance(t, dict):
            continue
        try:
            shape = tuple(int(d) for d in t["shape"])
            lo, hi = (int(x) for x in t["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise bad from None
        count = 1
        for d in shape:
            count *= d
        tensors[name] = (shape, t.get("dtype", "?"))
        params += count
        dtypes.add(str(t.get("dtype", "?")))
        end = max(end, hi)
    if 8 + n + end > size:
        raise bad
    return SafetensorsInfo(path, tensors, params, dtypes)
