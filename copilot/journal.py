"""The chat's job journal: every job a conversation submits is noted here at
once (one JSON line per job, per thread), so a turn killed before its
checkpoint cannot hide a job it started. ``act`` writes it, ``sync`` and the
REPL's resume read it. Its own module, so the nodes need not import the
session (which builds the graph, which imports the nodes)."""
from __future__ import annotations

import json
from pathlib import Path

from lqmf.tools.config import sub_dir


def journal_path(thread_id: str) -> Path:
    return sub_dir("chat_jobs") / f"{thread_id}.jsonl"


def journal(thread_id: str, job_id: str, tool: str, args: dict) -> None:
    """Note a submitted job at once, so a kill before the checkpoint cannot hide it."""
    with open(journal_path(thread_id), "a") as f:
        f.write(json.dumps({"job_id": job_id, "tool": tool, "model": args.get("model"),
                            "quant_type": args.get("quant_type")}) + "\n")


def journaled(thread_id: str) -> list[dict]:
    path = journal_path(thread_id)
    out = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out
