"""copilot/parser/CONTRACT.md and copilot/parser/schema.py say the same thing, and
every example in the contract parses as it shows (built-in parser)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lqmf.copilot.parser import parse
from lqmf.copilot.parser.schema import ALLOWED, SLOT_TYPES, Intent, Slot

CONTRACT = Path(__file__).resolve().parents[1] / "copilot" / "parser" / "CONTRACT.md"


def table(heading: str) -> list[list[str]]:
    """The rows (cells, stripped) of the first table under ``## heading``."""
    text = CONTRACT.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell) or [w.strip() for w in cell.split(",") if w.strip() not in ("", "(none)")]


def test_intents_and_their_slots_match_the_schema():
    rows = {names(r[0])[0]: set(names(r[2])) for r in table("Intents")}
    assert set(rows) == {i.value for i in Intent}
    for intent, slots in rows.items():
        assert slots == {s.value for s in ALLOWED[Intent(intent)]}, intent


def test_slots_and_their_canonical_values_match_the_schema():
    seen: set[str] = set()
    for name_cell, _kind, rule in table("Slots"):
        for name in names(name_cell):
            seen.add(name)
            kind, allowed = SLOT_TYPES[Slot(name)]
            if allowed is not None and kind is str:   # lists take their singular's values; bits below
                quoted = set(re.findall(r"`([^`]+)`", rule))
                assert set(map(str, allowed)) <= quoted, name   # every canonical value is listed
    assert seen == {s.value for s in Slot}
    bits_rule = next(r[2] for r in table("Slots") if "`bits`" in r[0])
    assert [int(b) for b in re.findall(r"\d+", bits_rule.split("(")[0])] == list(SLOT_TYPES[Slot.BITS][1])


EXAMPLES = [(r[0], r[1].strip("`")) for r in table("Examples")]


@pytest.mark.parametrize("utterance,shown", EXAMPLES, ids=[u for u, _ in EXAMPLES])
def test_contract_example_parses_as_shown(utterance, shown):
    want = json.loads(shown)
    got = parse(utterance, "builtin")
    assert {"intent": got["intent"], "slots": got["slots"]} == want


def test_no_reference_to_a_contract_outside_the_repository():
    root = CONTRACT.parents[2]
    stale = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".md")
             and ".venv" not in p.parts and ".lqmf-path" not in p.parts
             and "contracts/parse.md" in p.read_text(encoding="utf-8", errors="replace")]
    assert stale == [str(Path(__file__).relative_to(root))] or stale == [], stale
