"""Recommend: the right (model, quant type, method) for a need and a machine,
with predictions that learn from the store; the machine asked about; the
compatibility verdict ``quantize`` consults; feedback that changes the next
answer. Engines: ``lqmf.tools.recommend``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import InvalidInput

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App

HISTORY_LIMIT = 300  # the newest runs predictions learn from (and are checked on)


@dataclass
class Advice:
    """A recommendation as front ends show it (``rows``: one dict per option, best first)."""

    task: str
    hardware: dict
    rows: list[dict]
    nearest: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changed: str | None = None          # what feedback changed, when this answer follows feedback
    errors: dict = field(default_factory=dict)   # measured held-out median error per predicted figure

    def to_dict(self) -> dict:
        return {"task": self.task, "hardware": self.hardware, "options": self.rows, "nearest": self.nearest,
                "notes": self.notes, "changed": self.changed, "prediction_errors_pct": self.errors}


def hardware(app: "App", device: str | None = None, *, vram_gb: float | None = None,
             ram_gb: float | None = None) -> Any:
    """The machine meant (``tools.recommend.devices.Hardware``): this one unless a device or memory is named."""
    from lqmf.tools.recommend.devices import resolve

    return resolve(device, vram_gb=vram_gb, ram_gb=ram_gb)


def known_devices() -> list[str]:
    from lqmf.tools.recommend.devices import known_names

    return known_names()


def known_tasks() -> list[str]:
    from lqmf.tools.recommend.rank import TASKS

    return list(TASKS)


def model_facts(model: str) -> Any:
    """Facts of a catalogued model, or of a local folder from its config.json; else one sentence."""
    from lqmf.tools.catalog import find, from_config

    facts = find(model)
    if facts is not None:
        return facts
    path = Path(model).expanduser()
    if path.is_dir():
        return from_config(path)
    from lqmf.tools.models import _hub_snapshot

    snap = _hub_snapshot(model) if "/" in model else None
    if snap is not None and (snap / "config.json").is_file():
        return from_config(snap, name=model)
    raise InvalidInput(f"'{model}' is not in my catalog and not a local model folder",
                       "name one from `lqmf models`, or give the path of a folder with a config.json")


def _history(app: "App") -> Any:
    from lqmf.tools.recommend.predict import History

    try:
        records = list(app.store().all())
    except Exception:  # noqa: BLE001 - no store yet: priors only
        records = []
    records.sort(key=lambda r: r.created_at)
    return History.of(records[-HISTORY_LIMIT:])


def _here(hw: Any) -> Any:
    """The machine the store's runs were measured on (held-out errors are measured there)."""
    if hw.source == "this machine":
        return hw
    from lqmf.tools.recommend.devices import this_machine

    return this_machine()


COARSE = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "edge": "cpu"}  # the parse contract's device words
EDGE_DEFAULT = "raspberry pi 5"


def _device_of(device: str | None, vram_gb: float | None, hint: str | None = None) -> str | None:
    """The device to size for: a profile the user's words name ("on my raspberry pi 5", "rtx 3060")
    when it agrees with the parser's coarse word (cpu, gpu, edge); "edge" alone is a Raspberry Pi 5."""
    from lqmf.tools.recommend.devices import find_profile

    p = find_profile(hint) if hint and (device is None or device in COARSE) else None
    if p and p["name"] not in ("cpu", "gpu"):
        agrees = device is None or (p["name"].startswith(("raspberry", "jetson")) if device == "edge"
                                    else p["kind"] == COARSE[device])
        if agrees:
            return p["name"]
    if device == "edge":
        return EDGE_DEFAULT
    if device in ("gpu", "cuda") and vram_gb:  # the VRAM figure says it
        return None
    return device


def recommend(app: "App", task: str | None = None, *, vram_gb: float | None = None, ram_gb: float | None = None,
              device: str | None = None, max_size_gb: float | None = None, model: str | None = None,
              method: str | None = None, min_tok_s: float | None = None, ctx: int | None = None,
              limit: int = 5, remember: bool = True, hint: str | None = None) -> Advice:
    """Ranked options for ``task`` on the machine meant; the request is remembered for feedback.
    ``hint``: the user's words, which may name the machine ("my raspberry pi 5")."""
    from lqmf.tools.recommend import prefs as pf
    from lqmf.tools.recommend.predict import measured_errors
    from lqmf.tools.recommend.rank import check_task
    from lqmf.tools.recommend.rank import recommend as engine

    task = check_task(task)
    for flag, value in (("--model", model), ("--device", device), ("--method", method)):
        if value is not None and not str(value).strip():
            raise InvalidInput(f"{flag} is empty", f"name one, or leave {flag} out")
    device = _device_of(device, vram_gb, hint)
    hw = hardware(app, device, vram_gb=vram_gb, ram_gb=ram_gb)
    facts = model_facts(model) if model else None
    if method:
        from lqmf.tools.quantize.types import parse_method

        method = parse_method(method).value
    history = _history(app)
    errors = measured_errors(history, _here(hw))
    prefs = pf.load()
    wanted = max(filter(None, (min_tok_s, prefs.min_tok_s)), default=None)
    rec = engine(hw, history, prefs, task=task, model=facts, ctx=ctx, method=method, min_tok_s=wanted,
                 max_size_gb=max_size_gb, limit=limit, errors=errors)
    advice = Advice(task, hw.to_dict(), [o.row() for o in rec.options], [o.row() for o in rec.nearest],
                    rec.notes, errors=errors)
    if remember:
        prefs.last_request = {"task": task, "vram_gb": vram_gb, "ram_gb": ram_gb, "device": device,
                              "max_size_gb": max_size_gb, "model": model, "method": method,
                              "min_tok_s": min_tok_s, "ctx": ctx}
        prefs.last_top = [f"{r['model']}|{r['quant_type']}" for r in advice.rows]
        prefs.last_top_tok_s = advice.rows[0]["gen_tok_s"] if advice.rows else None
        pf.save(prefs)
    return advice


def read_feedback(text: str) -> tuple[str, int | None] | None:
    """("too_slow", None) / ("rating", 4) for feedback on a recommendation, or None."""
    from lqmf.tools.recommend.prefs import read_feedback as engine

    got = engine(text)
    return (got[0].value, got[1]) if got else None


def feedback(app: "App", kind: str, rating: int | None = None, target: str | None = None) -> Advice:
    """Store the feedback as a preference and recommend again for the last request, saying what changed."""
    from lqmf.tools.recommend import prefs as pf

    try:
        fb = pf.Feedback(kind)
    except ValueError:
        raise InvalidInput(f"unknown feedback '{kind}'", "say too slow, too lossy, too big, or rate it 1-5") from None
    prefs = pf.load()
    before = list(prefs.last_top)
    said = pf.apply(prefs, fb, rating, target)
    pf.save(prefs)
    last = dict(prefs.last_request or {})
    if not last:
        return Advice("chat", {}, [], changed=said + " Ask for a recommendation and I will use it.")
    advice = recommend(app, **{k: v for k, v in last.items() if v is not None})
    after = [f"{r['model']}|{r['quant_type']}" for r in advice.rows]
    if before and after and before[0] != after[0]:
        said += f" The top pick changed from {before[0].replace('|', ' ')} to {after[0].replace('|', ' ')}."
    elif after:
        said += f" {after[0].replace('|', ' ')} stays on top."
    advice.changed = said
    return advice


def verdict(app: "App", model: str, quant_type: str, method: str | None = None) -> Any:
    """Will quantizing ``model`` to ``quant_type`` here, and running it here, work?
    (``tools.recommend.oracle.Verdict``; a model the catalog and config.json cannot size passes.)"""
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.recommend.oracle import Verdict, check
    from lqmf.tools.recommend.predict import size

    try:
        facts = model_facts(model)
    except LqmfError:
        return Verdict(True)
    hw = hardware(app)
    history = _history(app)
    pred = size(facts, quant_type, history)
    from_gguf = bool(facts.bundled) or str(model).endswith(".gguf")
    return check(facts, quant_type, hw, ctx=512, records=history.failures, from_gguf=from_gguf,
                 quantize_here=True, weights=int(pred.value or 0) or None)


COLUMNS = ["#", "model", "quant", "method", "size", "memory", "tok/s", "KLD", "Δppl", "on disk"]


def table(advice: Advice, nearest: bool = False) -> tuple[list[str], list[list[str]]]:
    """The options as (columns, rows) of text, the same in the CLI and the chat."""
    rows = []
    for i, r in enumerate(advice.nearest if nearest else advice.rows, 1):
        rows.append([str(i), r["model"], r["quant_type"], r["method"], f"{r['size_gb']:.1f} GB",
                     f"{r['memory_gb']:.1f} GB", f"{r['gen_tok_s']:.0f}", f"{r['kld']:.3f}",
                     f"+{r['ppl_delta_pct']:.1f}%", r["where"] or "fetch first"])
    return COLUMNS, rows


def summary(advice: Advice) -> list[str]:
    """The sentences around the table: the machine, the top pick and why, the trade-off,
    how to get each option, and how sure the predictions are."""
    hw = advice.hardware
    mem = f"{hw['vram_gb']:g} GB VRAM" if hw.get("kind") == "gpu" and hw.get("vram_gb") else f"{hw.get('ram_gb', 0):g} GB RAM"
    out = []
    head = (advice.changed + " " if advice.changed else "") + f"For {advice.task} on {hw.get('name')} ({mem}, {hw.get('budget_gb', 0):g} GB usable)"
    if advice.nearest:
        near = advice.nearest[0]
        what = (f"{near['model']} does not fit" if len({r["model"] for r in advice.nearest}) == 1
                else "nothing in my catalog fits")
        out.append(f"{head}, {what} at any quant type; the closest: "
                   + "; ".join(f"{r['model']} {r['quant_type']}: {r['why']}" for r in advice.nearest) + "."
                   + (" These fit instead, best first:" if advice.rows else ""))
    elif advice.rows:
        top = advice.rows[0]
        out.append(f"{head}: {top['model']} at {top['quant_type']} ({top['method']}): {top['why']}.")
    out += advice.notes
    for i, r in enumerate(advice.rows, 1):
        if r["fetch"]:
            note = f" ({r['fetch_note']})" if r.get("fetch_note") else ""
            out.append(f"{i}. {r['model']}: fetch it first with `{r['fetch']}`{note}, then "
                       f"`lqmf quantize {r['hub_id']} -t {r['quant_type']}`.")
    if advice.rows:
        errs = advice.rows[0]["errors"]
        said = ", ".join(f"{LABELS[k]} ±{e['error_pct']:.0f}% ({'measured on held-out runs' if e['measured'] else 'a prior'}"
                         f", from {e['basis']})" for k, e in errs.items())
        out.append(f"How sure: {said}.")
    return out


LABELS = {"size_bytes": "size", "gen_tok_s": "speed", "kld": "KLD", "ppl_delta_pct": "Δppl"}
