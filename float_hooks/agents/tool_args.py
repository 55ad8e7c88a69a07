"""The agents' tools as a contract: each tool's parameters (its JSON Schema) and the check of
the arguments a client sends, with one-line errors that name a parameter, never echo a value,
and bound every text (limits.MAX_TEXT). tools.py holds what each tool does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from float_hooks.errors import FloatError
from float_hooks.store.limits import MAX_TEXT, longest_text

if TYPE_CHECKING:
    from float_hooks.agents.tools import Backend

    Impl = Callable[[Backend, dict[str, Any]], dict[str, Any]]

# every text an agent sends (a field, an array item, a value inside `answer`) is bounded like
# any authored field: limits.MAX_TEXT


class Param(NamedTuple):
    name: str
    type: str  # JSON Schema type
    description: str
    required: bool = False
    items: str | None = None  # the item type of an array


class Tool(NamedTuple):
    name: str
    description: str
    params: list[Param]
    impl: Impl
    writes: bool = False

    def input_schema(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for p in self.params:
            prop: dict[str, Any] = {"type": p.type, "description": p.description}
            if p.items:
                prop["items"] = {"type": p.items}
            props[p.name] = prop
        return {"type": "object", "properties": props,
                "required": [p.name for p in self.params if p.required],
                "additionalProperties": False}


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


def check_args(tool: Tool, args: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments, checked against the tool's parameters (the SDK's low-level server does
    not apply a tool's schema). One-line errors naming the parameter, never its value."""
    args = dict(args or {})
    known = {p.name: p for p in tool.params}
    for name in args:
        if name not in known:
            raise FloatError(f"{tool.name}: unknown argument {safe_name(name)}; takes "
                             + (", ".join(known) or "no arguments"))
    for p in tool.params:
        if p.name not in args or args[p.name] is None:
            if p.required:
                raise FloatError(f"{tool.name}: missing required argument {p.name}")
            args.pop(p.name, None)
            continue
        value = args[p.name]
        ok = isinstance(value, _TYPES[p.type]) and not (
            p.type in ("integer", "number") and isinstance(value, bool))
        if not ok:
            raise FloatError(f"{tool.name}: argument {p.name} must be a {p.type}")
        if p.items and not all(isinstance(v, _TYPES[p.items]) for v in value):
            raise FloatError(f"{tool.name}: argument {p.name} must be an array of {p.items}s")
        if longest_text(value) > MAX_TEXT:
            raise FloatError(f"{tool.name}: argument {p.name} "
                             + ("is" if isinstance(value, str) else "holds a text")
                             + f" longer than {MAX_TEXT:,} characters; send less")
    return args


def safe_name(name: str) -> str:
    return name if name.isidentifier() and len(name) <= 40 else "(an unexpected name)"
