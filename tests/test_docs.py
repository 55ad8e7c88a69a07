"""The docs hold together: the README stays short, every relative link in README.md,
CONTRIBUTING.md and docs/ points at a file that exists, the README's test command is the one
CI runs (.ci/run), and the worked example of docs/hash-format.md is what the code computes."""

from __future__ import annotations

import re
from pathlib import Path

from float_hooks.repo.hashing import FOLDER_MODE, folder_hash
from tests.gitrepo import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
README_MAX_BYTES = 12_288

LINK = re.compile(r"\]\(([^)\s]+)\)")


def pages() -> list[Path]:
    return [README, PROJECT_ROOT / "CONTRIBUTING.md", PROJECT_ROOT / "bench" / "README.md",
            *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def broken_links(page: Path) -> list[str]:
    """The relative links of a markdown page whose file does not exist (anchors ignored)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor in the same page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    return broken


def test_the_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_every_relative_link_points_at_a_file() -> None:
    found = {str(p.relative_to(PROJECT_ROOT)): broken_links(p) for p in pages()}
    assert {page: links for page, links in found.items() if links} == {}


def test_the_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#a) [web](https://example.com) [gone](docs/nothere.md)\n"
                    "```sh\n[not a link](nowhere.md)\n```\n")
    assert broken_links(page) == ["docs/nothere.md"]


def readme_test_command() -> str:
    """The ```sh block of the README's Development section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Development")
    end = text.find("\n## ", start + 1)
    section = text[start:] if end < 0 else text[start:end]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "no sh block in ## Development"
    return block.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == readme_test_command()
    contributing = (PROJECT_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert readme_test_command() in contributing


def test_the_setup_section_holds_no_test_command() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Set-up")
    setup = text[start:text.index("\n## ", start + 1)]
    assert "pytest" not in setup


def test_contributing_begins_with_the_layout() -> None:
    text = (PROJECT_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert text.split("\n## ", 1)[1].startswith("Layout\n")  # the first section


def test_the_hash_format_worked_example_is_what_the_code_computes() -> None:
    text = (PROJECT_ROOT / "docs" / "hash-format.md").read_text(encoding="utf-8")
    src = folder_hash([("app.py", "100644", "b80e3222ab264bd7cafb376749bd18814fd66776"),
                       ("run.sh", "100755", "4163036efa65bd4a469e752267498f01ea36a55c")])
    root = folder_hash([("src", FOLDER_MODE, src),
                        ("README.md", "100644", "ce013625030ba8dba906f756967f9e9ca394464a")])
    assert src == "9eed361d06d80b1ba80ecff686edfc156b549a218527bcb053caeae08714deeb"
    assert root == "1e87ada1436cfe3177dfc026b64f2ebc7231917a871593da4e9b606997d6b2cb"
    assert text.count(src) >= 2 and text.count(root) >= 2
    # the page's plain-Python check prints the same values
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    scope: dict[str, object] = {"print": lambda *a: None}
    exec(code.group(1), scope)
    assert (scope["src"], scope["root"]) == (src, root)
