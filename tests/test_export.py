from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from float_hooks.pages import frontmatter, render
from tests.export_support import EXPORT, author, front, pages
from tests.gitrepo import GitRepo


def test_layout_front_matter_and_sections(synced: GitRepo) -> None:
    author(synced)
    out = synced.float_json("export")
    assert out["changed"] is True and out["written"] == out["pages"]
    got = set(pages(synced))
    assert {"_folder.md", "src/_folder.md", "src/auth/_folder.md", "src/auth/tokens/_folder.md",
            "docs/_folder.md", "_index.md", "_open-questions.md", "_references.md",
            "_archive.md", "_log/2026.md", "_log/2026/01-jan.md", "_log/2025.md",
            "_log/2025/12-dec.md"} == got
    meta = front(synced, "src/auth/_folder.md")
    assert meta["path"] == "/src/auth" and meta["status"] == "current"
    assert meta["context_hash"] == meta["source_hash"]
    assert meta["context_what"] == "Two lines\nof what" and meta["ai_model"] == "m1"
    for key in ("uid", "ai_updated", "context_commit"):
        assert meta[key]
    text = (synced.path / EXPORT / "src/auth/_folder.md").read_text()
    for section in ("## Summary", "## What", "## Why", "## Children", "## Decisions",
                    "## Open questions", "## References"):
        assert section in text
    assert "[tokens/](tokens/_folder.md)" in text and "| login.py | file |" in text
    assert "../../_log/2026/01-jan.md#" in text
    month = front(synced, "_log/2026/01-jan.md")
    [entry] = month["decisions"]  # type: ignore[misc]
    assert entry["tags"] == ["auth"] and entry["files_changed"] == ["src/auth/login.py"]
    assert "2026-01" in (synced.path / EXPORT / "_log/2026.md").read_text()
    assert "Keep v1 tokens?" in (synced.path / EXPORT / "_open-questions.md").read_text()
    assert front(synced, "_folder.md")["status"] == "pending"


def test_deterministic_and_only_changed_pages_rewritten(synced: GitRepo) -> None:
    author(synced)
    synced.float_ok("export")
    before = pages(synced)
    mtimes = {p: (synced.path / EXPORT / p).stat().st_mtime_ns for p in before}
    again = synced.float_json("export")
    assert again["written"] == 0 and again["changed"] is False
    assert pages(synced) == before
    # one folder's context changes: its page, its parent's children table and the index
    synced.float_ok("set", "/docs", "--summary", "The guide")
    out = synced.float_json("export")
    assert sorted(out["written_pages"]) == ["_folder.md", "_index.md", "docs/_folder.md"]
    assert (synced.path / EXPORT / "src/auth/_folder.md").stat().st_mtime_ns == \
        mtimes["src/auth/_folder.md"]
    # no machine paths, no export time
    for data in pages(synced).values():
        assert str(synced.path).encode() not in data


def test_removed_folders_pages_go_and_archive_keeps_their_context(synced: GitRepo) -> None:
    synced.float_ok("set", "/docs", "--summary", "The guide", "--why", "users ask")
    synced.write(".float/project/boot.md", "mine\n")
    synced.write(".float/project/notes/README.md", "user notes\n")
    synced.float_ok("export")
    synced.git("rm", "-q", "-r", "docs")
    synced.commit("drop docs")
    synced.float_ok("sync")
    out = synced.float_json("export")
    assert "docs/_folder.md" in out["removed_pages"]
    assert not (synced.path / EXPORT / "docs").exists()
    archived = front(synced, "_archive.md")["archived"]
    assert [a["path"] for a in archived] == ["/docs"]  # type: ignore[index]
    assert archived[0]["content"]["context_why"] == "users ask"  # type: ignore[index]
    assert (synced.path / EXPORT / "boot.md").read_text() == "mine\n"
    assert (synced.path / EXPORT / "notes/README.md").read_text() == "user notes\n"


def test_odd_names_cannot_collide(repo: GitRepo) -> None:
    for rel in ("_folder.md/a.txt", "_log/b.txt", "__x/c.txt", "a b|c/d.txt", "_index.md/e",
                "x/_folder.md/f", "ü/ñ/g.txt", "log/2026.md/h"):
        repo.write(rel, rel + "\n")
    repo.commit("odd")
    repo.float_ok("init")
    repo.float_ok("export")
    seen = {}
    for rel, data in pages(repo).items():
        parsed = frontmatter.parse(data.decode())
        assert parsed is not None
        if parsed[0]["kind"] == "folder":
            seen[parsed[0]["path"]] = rel
    assert set(seen) == set(repo.folders())
    assert seen["/_folder.md"] == "__folder.md/_folder.md"
    assert seen["/_log"] == "__log/_folder.md"
    assert seen["/log/2026.md"] == "log/2026.md/_folder.md"
    assert seen["/"] == "_folder.md"


def test_export_out_dir_and_bare_needs_out(synced: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    res = synced.float_json("export", "--out", str(out))
    assert (out / "_index.md").is_file() and res["pages"] == len(list(out.rglob("*.md")))
    assert not (synced.path / EXPORT).exists()


def test_front_matter_round_trips_awkward_text() -> None:
    values = ["", " lead", "trail ", "a\nb", "a\n", "\n\nx\n\n", "tab\there", "x: y",
              "- item", "# not a comment", "'quoted'", '"dq"', "---", "a\n---\nb", "\x85nel",
              "\u2028sep", "cr\rlf", "nul\x00", "2026-01-15", "yes", "null", "~", "0x10",
              "emoji 🎉", "   \n  indented\n", "trailing space \nline"]
    for v in values:
        text = frontmatter.render({"kind": "t", "v": v, "l": [v]}, "body\n")
        parsed = frontmatter.parse(text)
        assert parsed is not None and parsed[0] == {"kind": "t", "v": v, "l": [v]}, repr(v)
        assert parsed[1] == "\nbody\n"
    assert frontmatter.parse("---\nkind: x\n---\n") is None  # not ours: no marker
    assert yaml.safe_load(frontmatter.dump({"a": "x\ny"})) == {"a": "x\ny"}


def test_month_pages_and_links(synced: GitRepo) -> None:
    assert render.month_page("2026-01-15") == "_log/2026/01-jan.md"
    assert render.month_page("2026-12-31") == "_log/2026/12-dec.md"
    assert render.month_page("someday") == "_log/undated.md"
    assert render.folder_page("/") == "_folder.md"
    assert render.folder_page("/_a/b") == "__a/b/_folder.md"
    assert render.link("src/_folder.md", "_log/2026/01-jan.md", "u") == \
        "../_log/2026/01-jan.md#u"


def _pyyaml(data: dict[str, object]) -> str:
    return str(yaml.dump(data, Dumper=frontmatter._dumper(), sort_keys=False,
                         allow_unicode=True, default_flow_style=False, width=100))


def test_block_yaml_writes_what_pyyaml_writes() -> None:
    # the direct writer must give PyYAML's bytes (or decline), or an export written by one
    # and then by the other would churn; random text built from the characters that decide
    # styles and line breaks
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from([*"ab yes:#-'\"|>!&*%@`,[]{}?.~01\n\t\\", "é", "🎉", "\x85",
                                 "\u2028", "\ufeff", "\x7f"])
    words = st.lists(st.sampled_from(["word", "a", "x:", ":", "#", "-", "'", "2026-01-15",
                                      "yes", "null", "0x1f", "1e3", "  ", " ", "\n", "é"]),
                     max_size=40).map("".join)
    text = st.one_of(st.text(alphabet, max_size=30), words, st.text(max_size=12))
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), text)
    key = st.sampled_from(["kind", "path", "map_summary", "uid", "a_b", "context_what"] * 3
                          + ["yes", "null"])  # keys YAML reads as a bool or null: declined
    flat = st.dictionaries(key, scalar, min_size=1, max_size=4)
    value = st.one_of(scalar, st.lists(st.one_of(scalar, flat), max_size=3),
                      st.lists(st.dictionaries(key, st.one_of(scalar, st.lists(scalar,
                                                                               max_size=3)),
                                               min_size=1, max_size=3), max_size=2))
    written = {"fast": 0}

    @settings(max_examples=800, deadline=None)
    @given(st.dictionaries(key, value, min_size=1, max_size=6))
    def check(data: dict[str, object]) -> None:
        try:
            fast = frontmatter.block_yaml(data)
        except frontmatter.Unsupported:
            return
        written["fast"] += 1
        assert fast == _pyyaml(data)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        assert yaml.load(fast, Loader=loader) == data  # dump() relies on it

    check()
    assert written["fast"] > 200  # much of it is written directly


def test_block_yaml_declines_what_pyyaml_writes_its_own_way() -> None:
    shared: list[object] = [1]
    item = {"x": 1}
    for data in ({"k" * 123: 1}, {"a": [{"k" * 130: "x"}]}, {"a": shared, "b": shared},
                 {"a": [item, item]}, {"a": [], "b": {}}):
        with pytest.raises(frontmatter.Unsupported):
            frontmatter.block_yaml(data)
        assert yaml.safe_load(frontmatter.dump(data)) == data
    assert frontmatter.block_yaml({"k" * 122: 1}) == _pyyaml({"k" * 122: 1})


def test_block_yaml_writes_every_page_of_a_real_export_as_pyyaml_does(synced: GitRepo) -> None:
    author(synced)
    synced.float_ok("set", "/src", "--summary", "word " * 40 + "end", "--what",
                    "line one\n\n  indented line\nlast", "--why", "it's: quoted # and 2026-01-15")
    synced.float_ok("export")
    for rel, raw in pages(synced).items():
        text = raw.decode()
        data = frontmatter.parse(text)
        assert data is not None, rel
        assert frontmatter.block_yaml(data[0]) == _pyyaml(data[0]), rel
