"""What is here instead: for a model the user named that is known (a catalog model or a hub
id) but not on this machine, the local model that comes closest, so that the copilot can
offer it instead of only saying no.

Closest means, in order: the same architecture family (tinyllama -> smollm2, both llama),
the same maker (a hub id's organisation: google/gemma-2-2b-it -> google/gemma-3-270m), else
the first bundled model. Local means a catalog model that resolves here: a bundled model
whose package is installed, or one whose hub id is in the local Hugging Face cache.
"""
from __future__ import annotations

from dataclasses import dataclass

from lqmf import knowledge
from lqmf.tools.errors import LqmfError, ModelNotCached


@dataclass(frozen=True)
class StandIn:
    """A model that is missing here, why, and the local model offered instead."""

    wanted: str        # what the user named
    problem: str       # why it cannot be used ("model X is not in the local Hugging Face cache ...")
    fix: str           # how to get it ("run `huggingface-cli download X` on a machine with network ...")
    model: str         # the local model offered instead (a catalog name)
    why: str           # why that one, in a user's words


def local_models() -> list[dict]:
    """Catalog entries usable on this machine, bundled ones first."""
    from lqmf.tools.models import _hub_snapshot, bundled_models

    bundled = set(bundled_models())
    here = [e for e in knowledge.catalog() if e["name"] in bundled]
    here += [e for e in knowledge.catalog() if e["name"] not in bundled and e.get("hub_id")
             and _hub_snapshot(e["hub_id"]) is not None]
    return here


def _org(hub_id: str | None) -> str:
    return hub_id.split("/", 1)[0].lower() if hub_id and "/" in hub_id else ""


def closest(wanted_entry: dict | None, hub_id: str, here: list[dict]) -> tuple[dict, str] | None:
    """The local entry closest to the wanted model, and why; None when nothing is here."""
    if not here:
        return None
    family = (wanted_entry or {}).get("family")
    for e in here:
        if family and e.get("family") == family:
            return e, f"the same {family} architecture"
    org = _org(hub_id)
    for e in here:
        if org and _org(e.get("hub_id")) == org:
            return e, f"also from {e['hub_id'].split('/')[0]}"
    bundled = [e for e in here if e.get("bundled")]
    return (bundled or here)[0], "bundled with LQMF"


def stand_in(ref: str) -> StandIn | None:
    """None when ``ref`` resolves here, or names nothing we know of (a typo, a bad path:
    those get their own sentence, not an offer); else the local model to offer instead."""
    from lqmf.tools.models import catalog_entry, resolve

    try:
        resolve(ref)
        return None
    except ModelNotCached as e:
        problem, fix = e.message, e.fix or ""
    except LqmfError:
        return None
    entry = catalog_entry(ref)
    hub_id = (entry or {}).get("hub_id") or ref
    pick = closest(entry, hub_id, [e for e in local_models() if e is not entry])
    if pick is None:
        return None
    return StandIn(wanted=ref, problem=problem, fix=fix, model=pick[0]["name"], why=pick[1])
