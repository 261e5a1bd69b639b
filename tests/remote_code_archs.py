"""Which architectures llama.cpp's converter loads with trust_remote_code=True,
read from the converter's own source (so a new one is covered without edits)."""
from __future__ import annotations

import ast
from pathlib import Path

MARK = "trust_remote_code=True"


def _registered(cls: ast.ClassDef) -> list[str]:
    names = []
    for d in cls.decorator_list:
        if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "register":
            names += [a.value for a in d.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return names


def remote_code_architectures(conv: Path) -> dict[str, str]:
    """{architecture: converter class} for every class whose own code, or a
    helper it calls, or a base class it inherits set_vocab from, asks for remote code."""
    files = [conv / "convert_hf_to_gguf.py", *sorted((conv / "conversion").glob("*.py"))]
    classes: dict[str, ast.ClassDef] = {}
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)
    # helper methods whose body asks for remote code (TextModel._set_vocab_qwen ...)
    helpers = {fn.name for c in classes.values() for fn in c.body
               if isinstance(fn, ast.FunctionDef) and MARK in ast.unparse(fn)
               and fn.name.startswith("_")}

    def asking(c: ast.ClassDef) -> set[str]:
        """Names of the methods of ``c`` that ask for remote code, directly or via a helper."""
        return {fn.name for fn in c.body if isinstance(fn, ast.FunctionDef) and fn.name not in helpers
                and (MARK in ast.unparse(fn) or any(f"self.{h}(" in ast.unparse(fn) for h in helpers))}

    methods = {n: {fn.name for fn in c.body if isinstance(fn, ast.FunctionDef)} for n, c in classes.items()}
    flagged: dict[str, set[str]] = {n: m for n, c in classes.items() if (m := asking(c))}
    changed = True
    while changed:  # a subclass inherits the asking methods it does not override
        changed = False
        for name, c in classes.items():
            bases = [getattr(b, "id", getattr(b, "attr", "")) for b in c.bases]
            inherited = {m for b in bases for m in flagged.get(b, set())} - methods[name]
            if inherited - flagged.get(name, set()):
                flagged[name] = flagged.get(name, set()) | inherited
                changed = True
    out: dict[str, str] = {}
    for name in sorted(flagged):
        for arch in _registered(classes[name]):
            out.setdefault(arch, name)
    return out
