"""safe_yaml.load, the one-pass front-matter reader, against an independent oracle: PyYAML's
own ``safe_load`` after a separate check pass (the reader this one replaced). Both must give
the same data, or both refuse, on what pages hold, on what hand edits and other YAML writers
produce, and on hostile input; libyaml and the pure-Python parser must agree too."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from float_hooks.pages import frontmatter, safe_yaml
from float_hooks.pages.safe_yaml import PageError


def oracle(source: str, loader: Any) -> Any:
    """What the reader this one replaced gave: a check pass over the events, then
    ``yaml.load``, then only the plain types pages hold."""
    depth = 0
    try:
        for event in yaml.parse(source, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise PageError("alias")
            if getattr(event, "tag", None) is not None:
                raise PageError("tag")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > safe_yaml.MAX_DEPTH:
                    raise PageError("deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        data = yaml.load(source, Loader=loader)
    except (yaml.YAMLError, ValueError, OverflowError) as e:
        raise PageError(str(e)) from None
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise PageError("surrogate")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) >= 1 << 63:
            raise PageError("big")
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise PageError("key")
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise PageError(type(value).__name__)


def outcome(read: Any, source: str) -> tuple[str, Any]:
    try:
        return "data", read(source)
    except PageError:
        return "refused", None


def pure_python(source: str) -> Any:
    """safe_yaml.load where libyaml is missing."""
    c_loader = yaml.__dict__.pop("CSafeLoader")
    try:
        return safe_yaml.load(source)
    finally:
        yaml.CSafeLoader = c_loader


def agree(source: str) -> tuple[str, Any]:
    """safe_yaml's outcome, checked against the oracle with the same parser: libyaml, and
    PyYAML's pure-Python one (the two parsers themselves read some broken YAML apart)."""
    got = outcome(safe_yaml.load, source)
    assert got == outcome(lambda s: oracle(s, yaml.CSafeLoader), source), source
    assert outcome(pure_python, source) == outcome(lambda s: oracle(s, yaml.SafeLoader),
                                                   source), source
    return got


EDGES = [
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: False\n",
    "a: 0x1F\nb: 0o17\nc: 017\nd: 1_000\ne: -12\nf: +3\ng: 0b101\nh: 1:30\n",
    "a: ~\nb: null\nc:\nd: Null\ne: ''\nf: '~'\ng: \"null\"\n",
    "a: 2026-12-03\nb: 2026-12-03 10:00:00\nc: 2026-12-03T10:00:00Z\nd: 2026-12-03t1:2:3.5+02:00\n",
    "a: 2026-13-45\n",
    "a: 1.5\n", "a: .inf\n", "a: -.NaN\n", "a: 1e3\n",
    "a: 99999999999999999999\n", "a: -9223372036854775808\n", "a: 9223372036854775807\n",
    "a: [1, two, {c: d}]\nb: {x: [y, z]}\n",
    "a: |\n  two\n  lines\nb: >-\n  folded\n  text\nc: 'it''s'\nd: \"tab\\there\"\n",
    "? [1]\n: x\n", "1: one\n", "null: x\n", "true: x\n", "~: x\n", "2026-01-01: x\n",
    "a: &x 1\nb: *x\n", "a: &x [1]\n", "a: !!str 1\n", "a: !custom x\n", "!!map {a: 1}\n",
    "a: ! 1\n", "!\n", "a: !\n", "a: !!python/object:os.system x\n",
    "<<: {b: 1}\na: 2\n", "a: =\n",
    "a: 1\n---\nb: 2\n", "---\na: 1\n...\n", "", "# only a comment\n", "just text\n",
    "- a\n- b\n", "a: 1\na: 2\n", "a: \"\\ud800\"\n", "a: \"\\U0001F600 ok\"\n",
    "a: [unclosed\n", "a: b: c\n", "\ta: 1\n", "a: '\n",
    "[" * 33 + "]" * 33 + "\n", "[" * 32 + "]" * 32 + "\n",
    "a: " + "{b: " * 31 + "1" + "}" * 31 + "\n",
]


@pytest.mark.parametrize("source", EDGES)
def test_edge_cases_agree_with_the_oracle(source: str) -> None:
    if source.startswith("<<:") or source == "a: =\n":
        # the one intended difference: merge keys (and the '=' value key) are refused; the
        # old reader merged them (or failed with a YAML error) without an alias in sight
        with pytest.raises(PageError):
            safe_yaml.load(source)
        return
    agree(source)


def test_a_long_integer_is_refused_before_it_is_read() -> None:
    # PyYAML reads "1:1:1:..." (base 60) in quadratic time: 160 KB of it took 1.7 s
    for source in ("a: " + "1:" * 80_000 + "1\n", "a: " + "1" * 101 + "\n"):
        with pytest.raises(PageError, match="integer too large"):
            safe_yaml.load(source)
    assert safe_yaml.load("a: " + "0b" + "1" * 62 + "\n") == {"a": (1 << 62) - 1}


def test_the_rules_it_refuses_are_named() -> None:
    for source, words in [("a: &x 1\nb: *x\n", "anchors and aliases"),
                          ("a: !!str 1\n", "explicit YAML tags"),
                          ("[" * 33 + "]" * 33 + "\n", "nested deeper than 32"),
                          ("a: 1.5\n", "float"), ("1: x\n", "key that is not text"),
                          ("<<: {b: 1}\n", "merge keys"), ("a: 1\n---\nb: 2\n", "more than one"),
                          ("a: [x\n", "unreadable front matter")]:
        with pytest.raises(PageError, match=words):
            safe_yaml.load(source)


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["yes", "no", "on", "Off", "null", "~", "1", "0x10", "1:20", "2026-01-02", "1.5", "", " x",
     "- x", ": x", "#x", "'", '"', "a\nb", "[x]", "{x}", "&a", "*a", "!t", "|", ">", "%x", "@x"])
scalars = st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | texts
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(texts, inner, max_size=4), max_leaves=20)
documents = st.dictionaries(texts, values, max_size=6)
# what pages hold (block_yaml writes only these: identifier keys, no empty mapping); arbitrary
# documents almost never are, so drawn alone they would leave export's writer untested
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True)
page_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(names, inner, min_size=1, max_size=4),
                           max_leaves=20)
page_documents = st.dictionaries(names, page_values, min_size=1, max_size=6)


STYLES = ("block", "flow", "quoted", "float-hooks")


def test_whatever_a_yaml_writer_produces_reads_the_same() -> None:
    checked: Counter[str] = Counter()  # the cases that reached the checks, by kind

    # derandomized: the same cases every run, so the counts below are a fact of the test,
    # not of the seed (a random run once reached only 3 flow-style cases of 300)
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.tuples(documents, st.sampled_from(STYLES))
           | st.tuples(page_documents, st.just("float-hooks")))
    def check(case: tuple[dict[str, Any], str]) -> None:
        data, style = case
        if style == "float-hooks":
            try:
                source = frontmatter.block_yaml(data)
            except frontmatter.Unsupported:
                return
        else:
            source = yaml.safe_dump(data, default_flow_style=style == "flow",
                                    allow_unicode=True,
                                    default_style='"' if style == "quoted" else None)
        kind, got = agree(source)
        assert outcome(pure_python, source) == (kind, got)  # valid YAML: both parsers agree
        checked[style] += 1
        if style == "float-hooks" and all(abs(v) < 1 << 63 for v in _ints(data)):
            assert got == data  # what export writes reads back exactly
            checked["read back exactly"] += 1

    check()
    # never a run that checked nothing: each writer's output, and export's round trip
    assert all(checked[what] >= 5 for what in (*STYLES, "read back exactly")), checked
    assert sum(checked[style] for style in STYLES) >= 150, checked


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) \
        else []
    return [n for v in items for n in _ints(v)]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab: -[]{},&*!|>'\"\n#?~10.")), max_size=40))
def test_yaml_like_noise_agrees_with_the_oracle(source: str) -> None:
    agree(source)
