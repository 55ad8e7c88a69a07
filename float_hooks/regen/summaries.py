"""One line about a file or a folder, from what it says about itself: a heading, the first
sentence of a docstring or of a leading comment block. Whole sentences, never a line cut
where the author happened to wrap it; clipped at a word boundary only when a sentence is
longer than the limit."""

from __future__ import annotations

import re

LIMIT = 160  # characters of a one-line summary

_DOCSTRING = re.compile(r'^\s*[rRbBuU]?("""|\'\'\')\s*(.*?)\s*(?:\1|$)', re.S)
_COMMENT = re.compile(r"^\s*(?:#+|//+!?|--|;+|/\*+!?|\*+|<!--)\s*(.*?)\s*(?:\*+/|-->)?\s*$")
_COMMENT_START = tuple("#/-;*<")
# a sentence ends at . ! or ? before a space or the end ("3.11", "os.path" go on)
_END = re.compile(r"[.!?](?=\s|$)")
# words ending in a full stop that do not end a sentence
_ABBREVIATIONS = frozenset(("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "incl.", "fig.",
                            "no.", "mr.", "mrs.", "ms.", "dr.", "st.", "resp.", "esp."))


def first_line(name: str, text: str) -> str | None:
    """A file's one-line summary: its first markdown or reStructuredText heading, or the first
    sentence of its docstring (Python) or of its leading comment block (any language), or
    None. Text files without a heading give their first sentence."""
    low = name.lower()
    lines = text.splitlines()
    if low.endswith((".md", ".markdown", ".rst", ".txt")) or low.startswith("readme"):
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("#"):
                return clip(s.lstrip("#").strip()) or None
            if s and i + 1 < len(lines) and set(lines[i + 1].strip()) <= set("=-~") \
                    and lines[i + 1].strip():
                return clip(s)  # setext / reStructuredText heading
        return first_sentence(_paragraph(lines))
    if low.endswith((".py", ".pyi")):
        body = "\n".join(s for s in lines if not s.startswith("#"))  # shebang, coding
        m = _DOCSTRING.match(body)
        if m and m.group(2):
            return first_sentence(_paragraph(m.group(2).splitlines()))
    return first_sentence(" ".join(comment_block(lines)))


def comment_block(lines: list[str]) -> list[str]:
    """The text of the first comment paragraph at the top of a file (after a shebang and a
    coding line), one item per line; empty when code comes first."""
    para: list[str] = []
    for line in lines[:60]:
        s = line.strip()
        if not para and (not s or s.startswith("#!") or (s.startswith("#") and "coding" in s[:30])):
            continue
        if not s or not s.startswith(_COMMENT_START):
            break  # a blank line or code ends it
        m = _COMMENT.match(s)
        body = m.group(1) if m else ""
        if not body.strip("*/-=#! "):
            if para:
                break  # an empty comment line ends the paragraph
            continue  # a rule or an opening /** line before it
        para.append(body)
        if s.endswith(("*/", "-->")):
            break
    return para


def _paragraph(lines: list[str]) -> str:
    """The first paragraph of ``lines``: the non-blank lines up to the next blank one."""
    para: list[str] = []
    for line in lines:
        if line.strip():
            para.append(line.strip())
        elif para:
            break
    return " ".join(para)


def first_sentence(text: str, limit: int = LIMIT) -> str | None:
    """The first sentence of ``text`` (whitespace collapsed), clipped to ``limit``."""
    text = " ".join(text.split())
    if not text:
        return None
    return clip(text[: _sentence_end(text, 0)], limit)


def sentences(text: str, limit: int) -> str:
    """As many whole sentences from the start of ``text`` as fit in ``limit`` characters
    (at least the first one, clipped)."""
    text = " ".join(text.split())
    end = _sentence_end(text, 0)
    while end < len(text):
        nxt = _sentence_end(text, end)
        if nxt > limit:
            break
        end = nxt
    return clip(text[:end], limit)


def _sentence_end(text: str, start: int) -> int:
    for m in _END.finditer(text, start):
        word = text[text.rfind(" ", 0, m.end()) + 1 : m.end()].lower()
        if word in _ABBREVIATIONS or re.fullmatch(r"\(?[a-z]\.", word):
            continue  # "e.g." or an initial: the sentence goes on
        return m.end()
    return len(text)


def clip(s: str, limit: int = LIMIT) -> str:
    """``s`` with whitespace collapsed, cut at a word boundary with "…" past ``limit``."""
    s = " ".join(s.split())
    if len(s) <= limit:
        return s
    cut = s.rfind(" ", 0, limit)
    return (s[:cut] if cut > limit // 2 else s[: limit - 1]).rstrip(" ,;:") + "…"
