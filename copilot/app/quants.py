"""What the quant backends declare (tools/quantize/registry.py), as the front ends
ask it: the type meant by "N bits", the types offered when asking, the tuning
candidates, the types of one method."""
from __future__ import annotations


def type_for_bits(bits: object, method: str | None) -> str | None:
    """The quant type meant by "N bits" (with ``method``), as the backends declare it."""
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod

    if not isinstance(bits, int) or isinstance(bits, bool):
        return None
    reg = current()
    m = method if method in set(QuantMethod) else None
    if m and not reg.types(QuantMethod(m)):
        m = None  # a method with no types here: the default reading, which check_type then refuses
    t = reg.pick(bits, m)
    return str(t) if t else None


def step_type(qt: str, smaller: bool) -> str | None:
    """The next smaller (or bigger) type of ``qt``'s method on its usual ladder ("again but
    smaller"): the tuning candidates where the method declares them, else all its types."""
    from lqmf.tools.quantize.registry import current

    reg = current()
    if not reg.has(qt):
        return None
    spec = reg.spec(qt)
    ladder = [t for t in reg.tune_types() if reg.spec(str(t)).method is spec.method] or \
        (reg.types(spec.method) if spec.method is not None else [])
    bpw = [(reg.spec(str(t)).bpw, str(t)) for t in ladder if str(t) != str(qt)]
    pick = max((b for b in bpw if b[0] < spec.bpw), default=None) if smaller else \
        min((b for b in bpw if b[0] > spec.bpw), default=None)
    return pick[1] if pick else None


def type_choices(method: str | None = None) -> list[str]:
    """The types offered when the copilot asks which one (of ``method``: its "N bits" types first)."""
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod

    reg = current()
    if method in set(QuantMethod) and reg.types(QuantMethod(method)) and \
            not any(reg.method_of(t) is QuantMethod(method) for t in reg.choices()):
        own = reg.types(QuantMethod(method))
        return [str(t) for t in sorted(own, key=lambda t: not reg.spec(t).pick)]
    return [str(t) for t in reg.choices()]


def types_of(method: str) -> list[str]:
    """Every declared type of one method (e.g. "gguf")."""
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod

    return [str(q) for q in current().types(QuantMethod(method))]


def buildable_methods() -> list[str]:
    """The methods whose backend can quantize in this install, in declaration order."""
    from lqmf.tools.quantize.registry import current

    return list(dict.fromkeys(b.method.value for b in current().backends if b.build is not None))


def double_quant(types: list[str]) -> list[str]:
    """``--double-quant``: each bitsandbytes 4-bit type becomes its double-quantized one."""
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize.registry import current

    reg = current()
    out: list[str] = []
    for t in types:
        dq = f"{reg.parse_quant_type(t)}_DQ"
        if not reg.has(dq):
            raise InvalidInput(f"--double-quant applies to bitsandbytes NF4 and FP4, not {t}",
                               "drop --double-quant or use --type NF4 / FP4")
        out.append(dq)
    return out


def types_for(types: list[str], bits: list[int] | None, method: str | None) -> list[str]:
    """``--type`` values plus the type each ``--bits`` value means with ``method``
    ("--method gptq --bits 4" -> GPTQ_4BIT), as the backends declare them."""
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize.registry import current

    out = list(types)
    m = current().parse_method(method).value if method else None
    for b in bits or []:
        t = type_for_bits(b, m)
        if t is None or (m and current().method_of(t).value != m):
            have = sorted({s.bits for s in current().specs.values() if m is None or str(s.method) == m})
            raise InvalidInput(f"no {m or 'quant'} type is declared for {b} bits",
                               "use --bits " + " or ".join(map(str, have)) + (f" with --method {m}" if m else ""))
        out.append(t)
    if not out:
        raise InvalidInput("no quant type given", "name one with --type (e.g. Q4_K_M) or --bits with --method")
    return out


def method_of(qt: str) -> str | None:
    """The method that makes a quant type ("GPTQ_4BIT" -> "gptq"), or None for no type."""
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import parse_quant_type

    try:
        return current().method_of(parse_quant_type(qt)).value
    except LqmfError:
        return None
