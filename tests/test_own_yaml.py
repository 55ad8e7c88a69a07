"""The fast reader of float-hooks' own front matter (pages/own_yaml.py, taken by
frontmatter.parse only when block_yaml writes its data back identically) against the safe
reader (safe_yaml.py): on what the writer writes for generated records both give the same data
and the fast one is taken; on any mutation of such a page the two agree (the same data, or the
same refusal), whether the fast one was taken or it fell back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from float_hooks.pages import frontmatter, own_yaml, safe_yaml
from float_hooks.pages.safe_yaml import PageError

# text built from what decides YAML's styles, folds and resolution, plus any unicode
_ALPHABET = st.sampled_from([*"ab yes:#-'\"|>!&*%@`,[]{}?.~01\n\t\\ ", "é", "🎉", "\x85",
                             "\u2028", "\ufeff", "\x7f", "\r"])
_WORDS = st.lists(st.sampled_from(["word", "a", "x:", ":", "#", "-", "'", "2026-01-15", "yes",
                                   "null", "0x1f", "1e3", "  ", " ", "\n", "é", "- item",
                                   "|", "---", "''", "w" * 30]), max_size=40).map("".join)
TEXT = st.one_of(st.text(_ALPHABET, max_size=40), _WORDS, st.text(max_size=20), st.just(""))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 64), 1 << 64), TEXT)
ANCHORS = st.lists(st.fixed_dictionaries({"anchor": TEXT}, optional={"blob": TEXT}),
                   max_size=3)
FOLDER = st.fixed_dictionaries(
    {"kind": st.just("folder"), "format": st.just(1), "path": TEXT,
     "status": st.sampled_from(["current", "stale", "pending"]), "source_hash": SCALAR},
    optional={"uid": TEXT, "map_summary": TEXT, "context_what": TEXT, "context_why": SCALAR,
              "context_patterns": st.one_of(TEXT, st.lists(TEXT, max_size=3)),
              "anchors": ANCHORS, "version": TEXT, "parents": st.lists(TEXT, max_size=2)})
DECISION = st.fixed_dictionaries(
    {"uid": TEXT, "title": TEXT, "date": TEXT},
    optional={"rationale": TEXT, "files_changed": st.lists(TEXT, max_size=3),
              "tags": st.lists(TEXT, max_size=3), "anchors": ANCHORS, "status": SCALAR,
              "n": SCALAR})
PAGE = st.one_of(
    FOLDER,
    st.fixed_dictionaries({"kind": st.just("decisions"), "format": st.just(1),
                           "decisions": st.lists(DECISION, max_size=3)}),
    st.fixed_dictionaries({"kind": st.just("conflicts"), "format": st.just(1),
                           "conflicts": st.lists(st.fixed_dictionaries(
                               {"kind": st.just("folder"), "key": TEXT,
                                "record": FOLDER}), max_size=2)}),
)


def front(page: dict[str, Any], text: str | None = None) -> str:
    text = text or frontmatter.render(page, "# body\n")
    return text[len(frontmatter._OPEN):text.index("\n---\n", len(frontmatter._OPEN) - 1) + 1]


def outcome(read: Any, source: str) -> tuple[str, Any]:
    try:
        return "data", read(source)
    except PageError:
        return "refused", None


def both(source: str) -> tuple[tuple[str, Any], bool]:
    """The outcome of the safe reader, checked equal to that of frontmatter's reader (the
    fast one first); and whether the fast one was taken."""
    safe = outcome(safe_yaml.load, source)
    fast = frontmatter._own(source)
    if fast is not None:
        assert safe == ("data", fast), source
    return safe, fast is not None


def test_the_writers_output_reads_the_same_and_fast() -> None:
    taken = {"fast": 0, "all": 0}

    @settings(max_examples=120, deadline=None, derandomize=True)
    @given(PAGE)
    def check(page: dict[str, Any]) -> None:
        written = frontmatter.render(page, "# body\n")
        source = front(page, written)
        safe, fast = both(source)
        taken["all"] += 1
        if fast:
            taken["fast"] += 1
            assert safe == ("data", page)
        assert outcome(lambda t: frontmatter.parse(t)[0], written) == safe

    check()
    # the writer's own form covers most pages (PyYAML writes the rest: \x85, \ufeff, ...)
    assert taken["fast"] > taken["all"] // 3


def _mutations(source: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["delete", "insert", "replace", "line", "indent",
                                      "swap", "dup"]))
    lines = source.split("\n")
    if kind in ("line", "indent", "swap", "dup"):
        i = data.draw(st.integers(0, len(lines) - 1))
        if kind == "line":
            lines[i] = data.draw(st.sampled_from(["a: b", "- x", "  x", "", "a: &x 1",
                                                  "b: *x", "c: !!str 1", "d: [1, 2]",
                                                  "e: 1.5", "f: 2026-01-01", "g: {}",
                                                  "h: |+", "i: 99999999999999999999"]))
        elif kind == "indent":
            lines[i] = data.draw(st.sampled_from([" ", "  ", "\t"])) + lines[i]
        elif kind == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, lines[i])
        return "\n".join(lines)
    i = data.draw(st.integers(0, max(0, len(source) - 1)))
    if kind == "delete":
        return source[:i] + source[i + 1:]
    c = data.draw(st.sampled_from([*" :-'\"#|>&*!\n\t{}[],?0a", "é", "\x85"]))
    return source[:i] + c + source[i + (kind == "replace"):]


def test_any_mutation_reads_the_same_through_both_or_falls_back() -> None:
    taken = {"mutated": 0}

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(PAGE, st.data())
    def check(page: dict[str, Any], data: st.DataObject) -> None:
        source = original = front(page)
        for _ in range(data.draw(st.integers(1, 3))):
            source = _mutations(source, data)
        _safe, fast = both(source)
        if fast and source != original:
            taken["mutated"] += 1
        # the page as a whole: frontmatter.parse gives what the safe reader alone gives
        text = frontmatter._OPEN + source + "---\n\nbody\n"
        assert outcome(lambda t: frontmatter.parse(t), text) == outcome(_safe_parse, text)

    check()
    assert taken["mutated"] > 0  # some mutations are still the writer's form (other data)


def _safe_parse(text: str) -> Any:
    real = own_yaml.load
    own_yaml.load = lambda source: None  # type: ignore[assignment]
    try:
        return frontmatter.parse(text)
    finally:
        own_yaml.load = real  # type: ignore[assignment]


@pytest.mark.parametrize("source", [
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: 99999999999999999999\n", "a: 1\na: 2\n",
    "a: 007\n", "a: -0\n", "a: 0x1F\n", "a: 2026-01-01\n", "a: yes\n", "a: 1.5\n",
    "a:\n  b:\n    c: 1\n" + "".join(" " * (2 * i) + "d:\n" for i in range(3, 12)) + "x: 1\n",
    "a: |+\n  x\n\n", "a: >\n  x\n", "a: \"x\"\n", "a: 'x\n", "a: '\\ud800'\n", "a: {}\n",
    "a: b\n  c\n", "a:\n- b\n - c\n", "kind: folder\nkind: folder\n", "a: '\n  '\n",
])
def test_hostile_forms_fall_back_to_the_safe_reader(source: str) -> None:
    assert frontmatter._own(source) is None or \
        outcome(safe_yaml.load, source) == ("data", frontmatter._own(source))
