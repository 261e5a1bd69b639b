"""Request bodies. Every model forbids unknown fields, so a typo is a 422 with
the field's name, never a silently ignored option."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "normal", "high", "urgent"]
Name = Field(min_length=1, max_length=500)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuantizeIn(Body):
    model: str = Name
    types: list[str] = Field(min_length=1, max_length=32, description="quant types, e.g. [\"Q4_K_M\"]")
    method: str | None = Field(default=None, max_length=32)
    priority: Priority | None = None
    not_before: str | None = Field(default=None, max_length=64, description="like the CLI's --at")


class BenchmarkIn(Body):
    target: str = Name
    types: list[str] = Field(default_factory=list, max_length=32)
    chunks: int | None = Field(default=None, ge=1, le=100000)
    ctx: int = Field(default=512, ge=16, le=131072)
    priority: Priority | None = None
    not_before: str | None = Field(default=None, max_length=64)


class SweepIn(Body):
    models: list[str] = Field(min_length=1, max_length=32)
    types: list[str] = Field(min_length=1, max_length=32)
    methods: list[str] | None = Field(default=None, max_length=8)
    chunks: int | None = Field(default=None, ge=1, le=100000)
    priority: Priority = "normal"
    not_before: str | None = Field(default=None, max_length=64)


class TuneIn(Body):
    """``lqmf tune`` over HTTP: one queued tune job (its trials are in `GET /api/jobs/{id}`)."""

    model: str = Field(min_length=1, max_length=500)
    gate: str | None = Field(default=None, max_length=500)
    goal: Literal["smallest", "fastest"] | None = None
    use: str | None = Field(default=None, max_length=32)
    chunks: int | None = Field(default=None, ge=1, le=100000)
    candidates: list[str] | None = Field(default=None, max_length=64)
    mixed: bool = False
    priority: Priority = "normal"
    not_before: str | None = Field(default=None, max_length=64)


class JobIn(Body):
    """One job of a kind (``quantize``: model + quant_type; ``benchmark``: target, quant_type optional)."""

    kind: Literal["quantize", "benchmark"]
    model: str | None = Field(default=None, max_length=500)
    target: str | None = Field(default=None, max_length=500)
    quant_type: str | None = Field(default=None, max_length=32)
    method: str | None = Field(default=None, max_length=32)
    chunks: int | None = Field(default=None, ge=1, le=100000)
    priority: Priority | None = None


class QueryIn(Body):
    text: str = Field(default="", max_length=2000)
    model: str | None = Field(default=None, max_length=200)
    quant_type: str | None = Field(default=None, max_length=32)
    method: str | None = Field(default=None, max_length=32)
    like: str | None = Field(default=None, max_length=500)
    limit: int | None = Field(default=None, ge=1, le=10000)


class CompareIn(Body):
    targets: list[str] = Field(min_length=1, max_length=64)


class ChatIn(Body):
    text: str = Field(max_length=4000)
    conversation_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class WebhookIn(Body):
    url: str = Field(min_length=1, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=8)
    secret: str | None = Field(default=None, min_length=16, max_length=200)


class MlflowIn(Body):
    uri: str = Field(min_length=1, max_length=2000, description="a tracking URI, e.g. sqlite:///runs/mlflow.db")
    experiment: str = Field(default="lqmf", min_length=1, max_length=200)
