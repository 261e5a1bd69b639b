"""Output blocks (plain data kept in the graph state) and how they look.

A block is ``{"kind": "text"|"warn"|"error"|"table", ...}``. Nodes build
blocks with the helpers here; ``io.IO`` prints them, through rich tables on a
terminal or as fixed-width plain text in plain mode (tests, scripts)."""
from __future__ import annotations

import time
from typing import Any


def text(s: str) -> dict:
    return {"kind": "text", "text": s}


def warn(s: str) -> dict:
    return {"kind": "warn", "text": s}


def error(s: str) -> dict:
    return {"kind": "error", "text": s}


def table(title: str, columns: list[str], rows: list[list[Any]]) -> dict:
    return {"kind": "table", "title": title, "columns": columns,
            "rows": [["" if c is None else str(c) for c in r] for r in rows]}


def _size(n: Any) -> str:
    from lqmf.copilot.app.types import human_bytes

    return human_bytes(int(n)) if isinstance(n, (int, float)) and n else ""


def _age(ts: Any) -> str:
    if not isinstance(ts, (int, float)):
        return ""
    d = max(0, time.time() - ts)
    for unit, sec in (("d", 86400), ("h", 3600), ("m", 60)):
        if d >= sec:
            return f"{int(d // sec)}{unit} ago"
    return "just now"


def records_table(rows: list[dict], title: str) -> dict:
    from lqmf.copilot.app.types import CHAT_TABLE, METRICS, fmt

    cols = ["#", "model", "quant", "method", *(METRICS[m].label for m in CHAT_TABLE), "status", "when"]
    body = [[i, r.get("model_name") or r.get("model"), r.get("quant_type") or "", r.get("method") or "",
             *(fmt(m, r.get(m.value), missing="") for m in CHAT_TABLE), r.get("status") or "",
             _age(r.get("created_at"))]
            for i, r in enumerate(rows, 1)]
    return table(title, cols, body)


def models_table(rows: list[dict]) -> dict:
    """One row per artifact (its runs merged): what it is and what it measured."""
    from lqmf.copilot.app.types import CHAT_TABLE, METRICS, fmt

    cols = ["#", "model", "quant", "method", *(METRICS[m].label for m in CHAT_TABLE), "runs", "when"]
    body = [[i, r.get("model_name") or r.get("model"), r.get("quant_type") or "", r.get("method") or "",
             *(fmt(m, r.get(m.value), missing="") for m in CHAT_TABLE), r.get("runs") or 1, _age(r.get("created_at"))]
            for i, r in enumerate(rows, 1)]
    return table("Models (one row per artifact, its runs merged)", cols, body)


def jobs_table(rows: list[dict]) -> dict:
    body = []
    for i, r in enumerate(rows, 1):
        a = r.get("args", {})
        what = " ".join(str(x) for x in (a.get("as"), a.get("model") or a.get("target"), a.get("quant_type")) if x)
        pct = f"{r['progress'] * 100:.0f}%" if isinstance(r.get("progress"), (int, float)) else ""
        body.append([i, r["id"], r["kind"], what, r["status"], pct, (r.get("error") or r.get("stage") or "")[:60]])
    return table("Jobs", ["#", "id", "kind", "what", "status", "progress", "note"], body)


def plain(block: dict, width: int = 100) -> str:
    """A block as plain text (no colour, fixed width)."""
    kind = block.get("kind")
    if kind == "warn":
        return f"warning: {block['text']}"
    if kind == "error":
        return f"error: {block['text']}"
    if kind != "table":
        return block.get("text", "")
    cols, rows = block["columns"], block["rows"]
    widths = [max(len(str(c)), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [block.get("title", ""), line(cols), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(s[:width] for s in out if s is not None)


def rich_renderable(block: dict):
    """A block as a rich renderable (terminal mode)."""
    from rich.table import Table
    from rich.text import Text

    kind = block.get("kind")
    if kind == "table":
        t = Table(title=block.get("title"), title_justify="left", header_style="bold")
        for c in block["columns"]:
            t.add_column(c)
        for r in block["rows"]:
            t.add_row(*r)
        return t
    style = {"warn": "yellow", "error": "bold red"}.get(kind or "", "")
    prefix = {"warn": "warning: ", "error": "error: "}.get(kind or "", "")
    return Text(prefix + block.get("text", ""), style=style)
