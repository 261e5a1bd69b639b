"""The machine a recommendation is for: this one (``tools.hardware``), a
profile from ``knowledge/hardware.toml`` ("raspberry pi 5"), or an override
("8 GB GPU", ``--vram 8``, ``--ram 8 --device cpu``)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from functools import lru_cache

from lqmf.tools.errors import InvalidInput


class Kind(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


@dataclass(frozen=True)
class Hardware:
    """What sizing and speed depend on. ``vram_gb`` is None on a CPU machine."""

    name: str
    kind: Kind
    ram_gb: float
    vram_gb: float | None
    bandwidth_gbs: float
    cores: int
    source: str                    # "this machine", "profile", "override"
    disk_free_gb: float | None = None
    shared_memory: bool = False    # GPU and CPU share one memory (Jetson)

    @property
    def budget_gb(self) -> float:
        """Memory a model may use: VRAM less what the driver and display keep;
        RAM less what the OS and other programs keep (at least 1.5 GB or 20%)."""
        if self.kind is Kind.GPU and self.vram_gb:
            reserve = max(0.5, 0.06 * self.vram_gb) + (1.5 if self.shared_memory else 0.0)
            return max(0.0, self.vram_gb - reserve)
        return max(0.0, self.ram_gb - max(1.5, 0.2 * self.ram_gb))

    def describe(self) -> str:
        mem = f"{self.vram_gb:g} GB VRAM" if self.kind is Kind.GPU and self.vram_gb else f"{self.ram_gb:g} GB RAM"
        return f"{self.name} ({mem}, ~{self.bandwidth_gbs:g} GB/s)"

    def to_dict(self) -> dict:
        return asdict(self) | {"kind": self.kind.value, "budget_gb": round(self.budget_gb, 2)}


@lru_cache(maxsize=1)
def profiles() -> tuple[dict, ...]:
    from lqmf import knowledge

    return tuple(knowledge.load_toml("hardware.toml")["device"])


def known_names() -> list[str]:
    return [p["name"] for p in profiles()]


_GB = re.compile(r"(\d+(?:\.\d+)?)\s*(?:gb|gig|gigs|g)\b")
_SQ = re.compile(r"[\s\-_]+")


def find_profile(text: str) -> dict | None:
    """The profile whose name or alias is the longest found in ``text``, or None."""
    t = " " + _SQ.sub(" ", text.lower()) + " "
    best, best_len = None, 0
    for p in profiles():
        for n in (p["name"], *p.get("aliases", ())):
            if f" {n} " in t and len(n) > best_len:
                best, best_len = p, len(n)
    return best


def _from_profile(p: dict, source: str = "profile") -> Hardware:
    kind = Kind(p["kind"])
    return Hardware(p["name"], kind, float(p.get("ram_gb", 16)), float(p["vram_gb"]) if kind is Kind.GPU else None,
                    float(p["bandwidth_gbs"]), int(p.get("cores", 8)), source,
                    shared_memory=bool(p.get("shared_memory")))


def this_machine() -> Hardware:
    """This machine: RAM, cores, free disk, and the first GPU's VRAM (NVML) when there is one."""
    from lqmf.tools.hardware import machine

    m = machine()
    if m.gpus:
        g = m.gpus[0]
        p = find_profile(g.name) or {"bandwidth_gbs": 300.0}
        return Hardware(g.name, Kind.GPU, round(m.ram_total_gb, 1), round(g.vram_gb, 1), float(p["bandwidth_gbs"]),
                        m.cpu.cores, "this machine", round(m.disk_free_gb, 1))
    cpu = next(p for p in profiles() if p["name"] == "cpu")
    return Hardware(m.cpu.model or "this CPU", Kind.CPU, round(m.ram_total_gb, 1), None, float(cpu["bandwidth_gbs"]),
                    m.cpu.cores, "this machine", round(m.disk_free_gb, 1))


def resolve(device: str | None = None, *, vram_gb: float | None = None, ram_gb: float | None = None,
            here: Hardware | None = None) -> Hardware:
    """The machine meant by a device phrase and memory overrides; this machine when nothing is said.
    An unknown device is one sentence listing the known ones."""
    text = (device or "").strip().lower()
    gb = _GB.search(text)
    said_gb = float(gb.group(1)) if gb else None
    prof = find_profile(text) if text else None
    if text and prof is None:
        raise InvalidInput(f"I don't know the device '{device}'",
                           "known devices: " + ", ".join(known_names()) + " (or give --vram / --ram)")
    if prof is None:
        if vram_gb:
            prof = next(p for p in profiles() if p["name"] == "gpu")
        elif ram_gb:
            prof = next(p for p in profiles() if p["name"] == "cpu")
    if prof is None:
        return here or this_machine()
    hw = _from_profile(prof, "override" if (vram_gb or ram_gb or said_gb) else "profile")
    if hw.name in ("cpu", "gpu") and here is None and not (vram_gb or ram_gb or said_gb):
        here = this_machine()
        if here.kind is hw.kind:
            return here
    if hw.kind is Kind.GPU:
        vram = vram_gb or said_gb or hw.vram_gb
        hw = replace(hw, vram_gb=vram, ram_gb=ram_gb or (vram if hw.shared_memory and vram else hw.ram_gb),
                     name=f"{vram:g} GB GPU" if hw.name == "gpu" else hw.name)
    else:
        ram = ram_gb or said_gb or hw.ram_gb
        hw = replace(hw, ram_gb=ram)
    return hw
