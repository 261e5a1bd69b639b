"""A quantized GGUF to an F16 GGUF that keeps everything else byte for byte.

The metadata section (tokenizer, licence, name, chat template, every key) is
copied from the source file as raw bytes; only the value of
``general.file_type`` is patched to MOSTLY_F16. Tensor infos keep their names,
shapes and order; quantized tensors are dequantized by gguf-py's numpy
reference (checked against llama.cpp's C code by gguf-py's own tests) and
stored as F16; F32, F16 and BF16 tensors are copied unchanged. Nothing goes
through transformers or the HF converter, so nothing can be re-tokenized,
renamed or dropped on the way.
"""
from __future__ import annotations

import struct
from pathlib import Path

from lqmf.tools.errors import CorruptFile
from lqmf.tools.progress import Progress, noop

F16, F32, BF16 = 1, 0, 30
KEEP = {F32, F16, BF16}
MOSTLY_F16 = 1
DEFAULT_ALIGNMENT = 32


def _pad(n: int, align: int) -> int:
    return (align - n % align) % align


def _field_value_offset(field) -> int:
    """Byte offset of a scalar field's value (its last part) in the file."""
    return field.offset + sum(int(p.nbytes) for p in field.parts[:-1])


def f16_plan(src: Path):
    """Reader, the tensors and what each becomes: [(tensor, out_type)]."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(src)
    except (ValueError, OSError, struct.error) as e:
        raise CorruptFile(f"{src} is not a readable GGUF file ({e})", "re-create or re-download it") from None
    return reader, [(t, int(t.tensor_type) if int(t.tensor_type) in KEEP else F16) for t in reader.tensors]


def write_f16(src: Path, out: Path, progress: Progress = noop) -> dict:
    """Write the F16 copy of ``src`` to ``out``; returns facts for the sidecar."""
    import numpy as np
    from gguf.quants import dequantize

    reader, plan = f16_plan(src)
    raw = reader.data  # the whole file, memory-mapped (uint8)
    align_field = reader.fields.get("general.alignment")
    align = int(align_field.parts[-1][0]) if align_field else DEFAULT_ALIGNMENT
    if not plan:
        raise CorruptFile(f"{src} holds no tensors", "re-create or re-download it")
    version = int(np.frombuffer(raw[4:8].tobytes(), "<u4")[0])
    n_kv = int(np.frombuffer(raw[16:24].tobytes(), "<u8")[0])
    kv_start = 24
    kv_end = plan[0][0].field.offset  # tensor infos follow the KV section
    kv = bytearray(raw[kv_start:kv_end].tobytes())
    ft = reader.fields.get("general.file_type")
    if ft is not None:
        at = _field_value_offset(ft) - kv_start
        kv[at:at + 4] = struct.pack("<I", MOSTLY_F16)

    infos = bytearray()
    offsets, sizes, offset = [], [], 0
    for t, out_type in plan:
        name = t.name.encode("utf-8")
        dims = [int(d) for d in t.shape]
        n = int(t.n_elements)
        size = int(t.n_bytes) if out_type == int(t.tensor_type) else n * 2
        infos += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(dims))
        infos += struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", out_type, offset)
        offsets.append(offset)
        sizes.append(size)
        offset += size + _pad(size, align)
    header = b"GGUF" + struct.pack("<IQQ", version, len(plan), n_kv)
    head = header + bytes(kv) + bytes(infos)
    total = sum(int(t.n_elements) for t, _ in plan)
    done = 0
    with open(out, "wb") as f:
        f.write(head)
        f.write(b"\0" * _pad(len(head), align))
        for (t, out_type), size in zip(plan, sizes):
            if out_type == int(t.tensor_type):
                data = np.asarray(t.data).tobytes()
            else:
                data = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float16).tobytes()
            if len(data) != size:
                raise CorruptFile(f"tensor {t.name} of {src} has {len(data)} bytes, expected {size}",
                                  "re-create or re-download the file")
            f.write(data)
            f.write(b"\0" * _pad(size, align))
            done += int(t.n_elements)
            progress("dequantize", done / total)
    return {"f16_from": "gguf-py dequantize", "tensors": len(plan),
            "dequantized": sum(1 for t, o in plan if o != int(t.tensor_type))}
