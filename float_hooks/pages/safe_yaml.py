"""Reading YAML that anyone could have pushed: one pass over the parser's events.

A page's front matter is built straight from libyaml's event stream (PyYAML's pure-Python
parser where libyaml is missing), and every rule is checked on the way: no anchors or aliases
(a few hundred bytes of them expand to gigabytes), no explicit tags or merge keys, nesting at
most :data:`MAX_DEPTH` deep, one document, and only the values pages hold: mappings with text
keys, lists, text, integers, booleans and null (a date is taken as its ISO text). Scalars are
resolved by PyYAML's own SafeLoader resolver, so the data equals ``yaml.safe_load``'s wherever
that is allowed (tests/test_safe_yaml.py checks it).

One pass instead of a check pass over the events and then PyYAML's parse, compose and
construct: about twice as fast (docs/performance.md, "Authored content").
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32
MAX_INT_CHARS = 100  # a 64-bit integer takes at most 64 binary digits and signs

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NO_KEY = object()  # a mapping waiting for its next key


class PageError(ValueError):
    """A generated page that cannot be read safely; the message names no parsed data."""


def load(source: str) -> Any:
    """The plain data of the single YAML document in ``source`` (None if there is none), or
    :class:`PageError` naming the first rule it breaks."""
    import yaml  # lazy: the YAML reader: only where pages are read

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(source)
    try:
        return _build(yaml, loader)
    except PageError:
        raise
    except (yaml.YAMLError, ValueError, OverflowError) as e:  # ValueError: a bad date
        raise PageError(f"unreadable front matter ({_first_line(e)})") from None
    finally:
        loader.dispose()


def _build(yaml: Any, loader: Any) -> Any:
    scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    stack: list[list[Any]] = []  # [container, its pending key] for each open collection
    root: Any = None
    documents = 0
    while loader.check_event():
        event = loader.get_event()
        kind = type(event)
        if kind is scalar:
            _refuse_anchor_and_tag(event)
            value = _scalar(yaml, loader, event, key=bool(stack) and stack[-1][1] is _NO_KEY
                            and type(stack[-1][0]) is dict)
        elif kind is mapping_start or kind is sequence_start:
            _refuse_anchor_and_tag(event)
            if len(stack) >= MAX_DEPTH:
                raise PageError(f"front matter nested deeper than {MAX_DEPTH} levels")
            stack.append([{} if kind is mapping_start else [], _NO_KEY])
            continue
        elif kind in collection_end:
            value = stack.pop()[0]
        elif kind is alias:
            raise PageError("YAML anchors and aliases are not allowed in pages")
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise PageError("unreadable front matter (more than one YAML document)")
            continue
        else:  # the stream's start and end, a document's end
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        if type(top[0]) is list:
            top[0].append(value)
        elif top[1] is _NO_KEY:
            if not isinstance(value, str):
                raise PageError("a mapping key that is not text")
            top[1] = value
        else:
            top[0][top[1]] = value  # a repeated key: the last one counts, as in PyYAML
            top[1] = _NO_KEY
    return root


def _refuse_anchor_and_tag(event: Any) -> None:
    if event.anchor is not None:
        raise PageError("YAML anchors and aliases are not allowed in pages")
    if event.tag is not None:  # even the non-specific '!', which libyaml and PyYAML read apart
        raise PageError("explicit YAML tags are not allowed in pages")


def _scalar(yaml: Any, loader: Any, event: Any, key: bool) -> Any:
    value: str = event.value
    # quoted, block and plain text no implicit resolver starts with are text: the resolver
    # would say so too, but asking it for each of a page's ~25 scalars costs ~15% of a parse
    resolvers = loader.yaml_implicit_resolvers  # by first character; None: any (none here)
    if not event.implicit[0] or (value and value[0] not in resolvers and None not in resolvers):
        tag = _STR
    else:
        tag = loader.resolve(yaml.ScalarNode, value, event.implicit)
    if tag == _STR:
        if _SURROGATE.search(value):
            raise PageError("text with a lone surrogate code point")
        return value
    if tag == "tag:yaml.org,2002:merge":
        raise PageError("YAML merge keys are not allowed in pages")
    if key:  # a date key would become text below: refused before
        raise PageError("a mapping key that is not text")
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return loader.bool_values[value.lower()]
    if tag == _INT:
        if len(value) > MAX_INT_CHARS:  # PyYAML's base-60 ints ("1:2:3...") cost quadratic time
            raise PageError("an integer too large")
        number = loader.construct_yaml_int(yaml.ScalarNode(tag, value))
        if abs(number) >= 1 << 63:
            raise PageError("an integer too large")
        return number
    if tag == _TIMESTAMP:
        return loader.construct_yaml_timestamp(yaml.ScalarNode(tag, value)).isoformat()
    what = {"tag:yaml.org,2002:float": "float"}.get(tag, "a YAML value")
    raise PageError(f"a value of type {what}, which pages never hold")


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return " ".join(lines[0].split())[:160] if lines else type(e).__name__
