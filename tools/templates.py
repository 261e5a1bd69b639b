"""Saved configurations under a name, in the data dir: quality gates
(``gates.json``: name -> expression, "default" is the user's own gate) and
quantization templates (``templates/NAME.json``: method, type, per-tensor
overrides, imatrix text, gate; what ``lqmf tune`` found, applied to another
model with ``lqmf quantize MODEL --template NAME``)."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lqmf.tools.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_GATE = "default"


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidInput(f"{name!r} is not a usable {what} name",
                           "use letters, digits, '-', '_' or '.', at most 64 characters")
    return name


@dataclass
class Template:
    """A quantization recipe without a model: what tune found, or what a user saved."""
    name: str
    quant_type: str
    method: str = "gguf"
    overrides: dict[str, str] = field(default_factory=dict)   # tools/quantize/recipe.py's overrides
    imatrix: str | None = None                                 # calibration text name (chat, code ...)
    gate: str | None = None                                    # tools/gates.py expression
    source: str | None = None                                  # where it came from ("tune smollm2 ...")

    def to_dict(self) -> dict:
        return asdict(self)


def _write(path: Path, data) -> None:
    from lqmf.tools.fsutil import atomic_output

    with atomic_output(path, replace_file=True) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))


def _templates_dir() -> Path:
    from lqmf.tools.config import sub_dir

    return sub_dir("templates")


def save_template(t: Template) -> Path:
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.quantize.types import parse_quant_type

    _check_name(t.name, "template")
    t.quant_type = parse_quant_type(t.quant_type).value
    if t.gate:
        t.gate = str(parse_gate(gate_text(t.gate)))
    path = _templates_dir() / f"{t.name}.json"
    _write(path, t.to_dict())
    return path


def load_template(name: str) -> Template:
    path = _templates_dir() / f"{_check_name(name, 'template')}.json"
    try:
        data = json.loads(path.read_text())
    except OSError:
        have = ", ".join(templates()) or "none yet"
        raise InvalidInput(f"there is no template {name!r} (saved: {have})",
                           "save one with `lqmf tune MODEL --gate ... --save-template NAME`") from None
    except json.JSONDecodeError:
        raise InvalidInput(f"the template file {path} is not valid JSON", "save the template again") from None
    known = Template.__dataclass_fields__
    return Template(**{k: v for k, v in data.items() if k in known})


def templates() -> list[str]:
    return sorted(p.stem for p in _templates_dir().glob("*.json"))


# ---- saved gates ----------------------------------------------------------------
def _gates_path() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir() / "gates.json"


def saved_gates() -> dict[str, str]:
    try:
        data = json.loads(_gates_path().read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_gate(name: str, expression: str) -> str:
    """Save a gate under a name (checked first); returns it normalised."""
    from lqmf.tools.gates import parse_gate

    gate = parse_gate(expression)
    if gate is None:
        raise InvalidInput("the gate to save is empty", "give one, e.g. kld<0.05")
    gates = saved_gates() | {_check_name(name, "gate"): gate.text}
    _write(_gates_path(), gates)
    return gate.text


def gate_text(text: str | None) -> str | None:
    """A gate expression, or the expression of a saved gate's name."""
    if text is None or not text.strip():
        return None
    return saved_gates().get(text.strip(), text)
