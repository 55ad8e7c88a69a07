"""What the search tests share: a small web framework whose files say what they do (issue
24), the questions asked of it, and the ways a search index is broken on purpose."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from tests.gitrepo import GitRepo

FILES = {
    "webfw/__init__.py": '"""A small web framework: an application object, routing and'
                         ' views."""\n',
    "webfw/app.py": '"""The application object that holds configuration and blueprints."""\n\n\n'
                    "class Application:\n"
                    '    """The central object of a web application."""\n\n'
                    "    def register_blueprint(self, blueprint):\n"
                    '        """Register a blueprint on the application: its URL rules and'
                    ' error handlers."""\n'
                    "        self.blueprints.append(blueprint)\n",
    "webfw/routing.py": '"""Match request URLs to view functions with a rule map."""\n\n\n'
                        "class RuleMap:\n"
                        '    """Rules by endpoint."""\n',
    "webfw/sessions/store.py": "STORES = {}\n",
    "webfw/sessions/cookie.py": "SECRET = None\n",
    "webfw/json/provider.py": "DEFAULT = None\n",
    "webfw/json/tag.py": '"""Tagged JSON: serialize extra types."""\n',
    "docs/config.md": "# Configuration\n\nThe structure of config files.\n",
    "docs/index.md": "# Docs\n\nWhere the documentation starts.\n",
}


def make_framework(repo: GitRepo) -> GitRepo:
    for rel, text in FILES.items():
        repo.write(rel, text)
    repo.commit("framework")
    repo.float_ok("init")
    repo.float_ok("regenerate")  # the built-in map: each file's first sentence
    # authored context, in words the code never uses
    repo.float_ok("set", "webfw/sessions", "--summary", "Signed cookies",
                  "--what", "Per-user state is kept client-side in a signed cookie; the"
                  " secret key signs it, nothing is kept on the server.")
    repo.float_ok("log", "add", "--title", "Keep the nav structure flat",
                  "--decision", "Sidebar navigation has at most two levels",
                  "--rationale", "Deep trees hide pages", "--date", "2026-01-10")
    repo.float_ok("log", "add", "--title", "Config files are TOML",
                  "--decision", "One structure for every config file", "--date", "2026-01-11")
    repo.float_ok("log", "add", "--title", "Docs build with Sphinx", "--date", "2026-01-12")
    repo.float_ok("question", "add", "Should routing support regular expressions?")
    return repo


def ask(repo: GitRepo, question: str, limit: int = 10) -> list[dict[str, Any]]:
    answer = repo.float_json("search", question, "--limit", str(limit))
    assert answer["freshness"]["unsynced_changes"] is False
    hits: list[dict[str, Any]] = answer["results"]
    return hits


QUESTIONS = ("where is request routing", "how are blueprints registered?", "provider",
             "rule map", "how is per-user state kept", "nav structure", "regular expressions")
INDEXES = ("folders_fts", "folder_files_fts", "outline_words_fts", "log_entries_fts",
           "open_questions_fts")


# broken records, by id in the index's _data table: a structure record (10) FTS5 cannot
# parse, one that asks it for gigabytes (the sqlite3 module raises MemoryError for it), one
# zeroed (it reads as an empty index, and every write to the index then fails), alone or
# with the totals record beside it (1)
BROKEN = {"unparsable": {10: b"\xff" * 12},
          "huge": {10: bytes.fromhex("a81d0a9128005a7e89ddba89")},
          "zeroed": {10: bytes(12)},
          "zeroed with its totals": {10: bytes(12), 1: bytes(4)}}


def break_index(repo: GitRepo, index: str, broken: str) -> None:
    with closing(sqlite3.connect(repo.path / ".float" / "index.db")) as conn:
        conn.executemany(f"UPDATE {index}_data SET block = ? WHERE id = ?",
                         [(block, rowid) for rowid, block in BROKEN[broken].items()])
        conn.commit()
