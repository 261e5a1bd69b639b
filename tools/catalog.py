"""The model catalog as typed facts (``knowledge/catalog.toml``), the same
facts read from a local ``config.json`` for a model the catalog does not
know, and the parameter count those facts imply (the catalog's cross-check).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lqmf.tools.errors import InvalidModel


@dataclass(frozen=True)
class ModelFacts:
    """What sizing a model needs: its shape, context and what it is for."""

    name: str
    params_b: float
    architecture: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool = True
    mlp: str = "gated"
    context: int = 4096
    family: str = ""
    title: str = ""
    tasks: tuple[str, ...] = ()
    license: str = ""
    released: str = ""
    hub_id: str = ""
    source: str = ""
    bundled: bool = False
    note: str = ""
    entry: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_params(self) -> int:
        return int(self.params_b * 1e9)

    @property
    def dense_params(self) -> int:
        """The embeddings and an untied output head: what transformers-path backends keep unquantized."""
        return self.vocab * self.hidden * (1 if self.tied else 2)

    def kv_bytes_per_token(self, bytes_per_value: float = 2.0) -> float:
        """K and V of every layer for one token (F16 cache by default)."""
        return 2 * self.layers * self.kv_heads * self.head_dim * bytes_per_value

    @property
    def year(self) -> float:
        try:
            y, m = self.released.split("-")
            return int(y) + (int(m) - 1) / 12
        except ValueError:
            return 2023.0


def implied_params(f: ModelFacts) -> int:
    """Parameters implied by the shape: embeddings (+ an untied output head),
    per layer attention (q, k, v, o) and MLP (gated: 3 matrices; plain: 2) and norms."""
    attn = f.hidden * f.heads * f.head_dim * 2 + f.hidden * f.kv_heads * f.head_dim * 2
    mlp = f.hidden * f.intermediate * (3 if f.mlp == "gated" else 2)
    per_layer = attn + mlp + 2 * f.hidden
    return f.dense_params + f.layers * per_layer + f.hidden


_FIELDS = ("layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab")


def from_entry(e: dict) -> ModelFacts:
    return ModelFacts(
        name=e["name"], params_b=float(e["params_b"]), architecture=e.get("architecture", ""),
        **{k: int(e.get(k, 0)) for k in _FIELDS}, tied=bool(e.get("tied", True)), mlp=e.get("mlp", "gated"),
        context=int(e.get("context", 4096)), family=e.get("family", ""), title=e.get("title", ""),
        tasks=tuple(e.get("tasks", ())), license=e.get("license", ""), released=e.get("released", ""),
        hub_id=e.get("hub_id", ""), source=e.get("source", ""), bundled=bool(e.get("bundled")),
        note=e.get("note", ""), entry=e)


def catalog() -> list[ModelFacts]:
    from lqmf import knowledge

    return [from_entry(e) for e in knowledge.catalog() if e.get("layers")]


def find(name: str) -> ModelFacts | None:
    """A catalogued model by name, alias or hub id (as ``tools.models.catalog_entry``)."""
    from lqmf.tools.models import catalog_entry

    e = catalog_entry(name)
    return from_entry(e) if e and e.get("layers") else None


def from_config(folder: Path, name: str | None = None) -> ModelFacts:
    """The facts of a local HF model folder from its config.json (multimodal
    configs: their ``text_config``); the parameter count is implied by the shape."""
    from lqmf.tools.models import read_config

    path = Path(folder).expanduser() / "config.json"
    try:
        cfg = read_config(path.parent)   # the one reader: missing, not JSON, not an object, wrong types
    except OSError:
        raise InvalidModel(f"{folder} has no readable config.json",
                           "point at a Hugging Face model folder, or name a model from `lqmf models`") from None
    arch = (cfg.get("architectures") or ["unknown"])[0]
    inner = cfg.get("text_config")
    text: dict = inner if isinstance(inner, dict) else cfg
    try:
        hidden = int(text["hidden_size"])
        heads = int(text["num_attention_heads"])
        facts = ModelFacts(
            name=name or Path(folder).name, params_b=0.0, architecture=str(arch),
            layers=int(text["num_hidden_layers"]), hidden=hidden, heads=heads,
            kv_heads=int(text.get("num_key_value_heads") or heads),
            head_dim=int(text.get("head_dim") or hidden // heads),
            intermediate=int(text.get("intermediate_size") or 4 * hidden),
            vocab=int(text.get("vocab_size") or cfg.get("vocab_size") or 32000),
            tied=bool(cfg.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
            context=int(text.get("max_position_embeddings") or 4096), tasks=("general", "chat"),
            source=str(path))
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidModel(f"{path} lacks a fact needed to size the model ({e})",
                           "check that it is a decoder-only language model's config") from None
    from dataclasses import replace

    return replace(facts, params_b=implied_params(facts) / 1e9)
