"""Input from elsewhere in messages: one bounded, escaped line (errors.quoted), never repr()."""

from __future__ import annotations

from float_hooks.errors import quoted
from tests.gitrepo import GitRepo

HOSTILE = "a\nb\r\x1b[31mred\u202e\"q\"\\" + "x" * 10_000


def test_quoted_is_one_escaped_bounded_line() -> None:
    shown = quoted(HOSTILE)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert "\u202e" not in shown  # a bidi override would reorder what the terminal shows
    assert shown.startswith('"a\\x0ab\\x0d\\x1b[31mred\\u202e\\"q\\"\\\\x')
    assert shown.endswith('x…"') and len(shown) < 120  # 80 characters, some escaped
    assert quoted("plain") == '"plain"'
    assert quoted("\U0001f600") == '"\U0001f600"'  # printable stays as it is
    assert quoted("\U000e0001") == '"\\U000e0001"'  # a tag character is not


def test_cli_shows_a_hostile_argument_bounded(synced: GitRepo) -> None:
    line = synced.float_error("log", "add", "--title", "t", "--date", HOSTILE)
    assert line.startswith("float-hooks: --date must be YYYY-MM-DD, not \"a\\x0ab")
    assert len(line) < 200


def test_committed_config_value_is_shown_bounded(synced: GitRepo) -> None:
    config = synced.path / ".float" / "config.toml"
    bad = "bad\u202e" + "y" * 5000  # a pushed config.toml is anyone's
    config.write_text(config.read_text().replace('on_commit = "queue"', f'on_commit = "{bad}"'))
    synced.write("src/new.py", "x = 1\n")
    synced.commit("a change")
    r = synced.float_proc("hook-impl", "post-merge")  # what the git hook runs
    assert r.code == 0  # a hook never costs the commit (not strict)
    [line] = r.err.splitlines()
    assert '[trigger] on_commit = "bad\\u202eyyy' in line
    assert "\u202e" not in line and len(line) < 250

