"""The built-in regenerator on a real repository: what it reads (README, package docstring,
manifests, first lines), what it never reads whole (big and binary files), files that exist
only in the work tree, and that it is deterministic."""

from __future__ import annotations

from float_hooks.code.summaries import first_line
from tests.gitrepo import GitRepo
from tests.regen_support import folder


def _children(repo: GitRepo, path: str) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in folder(repo, path)["map_children"]}


def test_builtin_map_from_readme_docstrings_and_manifests(repo: GitRepo) -> None:
    repo.write("README.md", "# Shop\n\n[![ci](badge.svg)](x)\n\nShop sells things online."
               " It has a cart.\n\nMore text.\n")
    repo.write("shop/__init__.py", '"""Checkout and cart logic."""\n')
    repo.write("shop/cart.py", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
               '"""The cart: items and totals.\n\nLonger text."""\nimport os\n')
    repo.write("shop/util.py", "# small helpers\nX = 1\n")
    repo.write("shop/plain.py", "X = 1\n# a comment after code is not a description\n")
    repo.write("web/package.json", '{"name": "shop-web", "description": "The storefront"}\n')
    repo.write("web/app.ts", "// Entry point of the storefront\nexport const a = 1;\n")
    repo.write("engine/Cargo.toml", '[package]\nname = "engine"\ndescription = "Pricing'
               ' engine"\n')
    repo.write("engine/src/lib.rs", "//! Prices, taxes and discounts.\npub fn p() {}\n")
    repo.write("tools/pyproject.toml", '[project]\nname = "shop-tools"\n'
               'description = "Scripts for operators"\n')
    repo.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 40)
    repo.write("assets/big.txt", "# Big data file\n" + "row\n" * 100_000)  # ~400 KB
    repo.commit("shop")
    repo.float_ok("init")
    r = repo.float_json("regenerate")
    assert r["failed"] == [] and r["remaining"] == 0
    assert set(repo.folders().values()) == {"current"}

    root = folder(repo, "/")
    assert root["map_summary"] == "Shop sells things online."
    assert root["context_what"].startswith("Shop: Shop sells things online. It has a cart.")
    assert root["ai_model"] == "builtin" and root["ai_updated"]
    assert folder(repo, "/shop")["map_summary"] == "Checkout and cart logic."
    assert folder(repo, "/web")["map_summary"] == "The storefront"
    assert "npm package shop-web: The storefront" in folder(repo, "/web")["context_what"]
    assert folder(repo, "/engine")["map_summary"] == "Pricing engine"
    assert folder(repo, "/engine/src")["map_summary"] == "Prices, taxes and discounts."
    assert folder(repo, "/tools")["map_summary"] == "Scripts for operators"

    shop = _children(repo, "/shop")
    assert shop["cart.py"]["summary"] == "The cart: items and totals."
    assert shop["util.py"]["summary"] == "small helpers"
    assert shop["plain.py"]["summary"] is None  # a one-letter name is no constant to name
    assert shop["cart.py"]["kind"] == "file" and shop["cart.py"]["size"] > 0
    assets = _children(repo, "/assets")
    assert assets["logo.png"]["summary"] is None  # binary: not described
    assert assets["big.txt"]["summary"] == "Big data file"  # read from its first bytes only
    assert assets["big.txt"]["size"] == len("# Big data file\n") + 400_000
    top = _children(repo, "/")
    assert top["shop"] == {"name": "shop", "kind": "folder",
                           "summary": "Checkout and cart logic."}
    # a folder without code is summarised from its files' titles, not counted
    assert folder(repo, "/assets")["map_summary"] == "Big data file"


def test_builtin_is_deterministic_and_keeps_authored_why(synced: GitRepo) -> None:
    synced.float_ok("set", "/src/auth", "--why", "Written by a person", "--summary", "old")
    synced.float_ok("regenerate", "--all")
    first = {p: folder(synced, p) for p in synced.folders()}
    synced.float_ok("regenerate", "--all")
    for p, row in first.items():
        again = folder(synced, p)
        for key in ("map_summary", "map_children", "context_what", "context_why"):
            assert again[key] == row[key], (p, key)
    assert first["/src/auth"]["context_why"] == "Written by a person"
    assert first["/src/auth"]["map_summary"] != "old"


def test_work_tree_only_files_are_read_from_disk(synced: GitRepo) -> None:
    synced.write("notes/todo.md", "# Things to do\n\nShip it.\n")  # untracked, never added
    synced.float_ok("sync")
    synced.float_ok("regenerate", "/notes")
    notes = folder(synced, "/notes")
    assert notes["status"] == "current"
    assert _children(synced, "/notes")["todo.md"]["summary"] == "Things to do"


def test_dry_run_plans_children_first_with_a_token_estimate(synced: GitRepo) -> None:
    synced.write("docs/long.md", "# Long\n" + "words " * 5000)
    synced.float_ok("sync")
    planned = synced.float_json("regenerate", "--dry-run")
    order = [j["path"] for j in planned]
    assert order.index("/src/auth/tokens") < order.index("/src/auth") < order.index("/src")
    assert order[-1] == "/"
    est = {j["path"]: j["estimated_tokens"] for j in planned}
    assert est["/docs"] > est["/src/auth/tokens"] > 0
    assert est["/docs"] < 24000  # excerpts stay within [regenerate] input_budget (bytes)
    assert synced.float_json("jobs") == []  # a dry run queues nothing
    only = synced.float_json("regenerate", "/src", "--dry-run")
    assert sorted(j["path"] for j in only) == ["/src", "/src/auth", "/src/auth/tokens"]


def test_first_line_rules() -> None:
    assert first_line("a.py", '"""Doc line.\n\nMore."""') == "Doc line."
    assert first_line("a.py", "'''Single quotes'''\n") == "Single quotes"
    assert first_line("a.go", "// Package a does things.\npackage a\n") == \
        "Package a does things."
    assert first_line("a.c", "/* A C file. */\nint x;\n") == "A C file."
    assert first_line("a.sql", "-- Schema for users\nCREATE TABLE u();\n") == \
        "Schema for users"
    assert first_line("README.rst", "Title here\n==========\n\nText\n") == "Title here"
    assert first_line("notes.txt", "\n\nfirst words\n") == "first words"
    assert first_line("a.py", "import os\n") is None
    assert first_line("x.json", '{"a": 1}') is None
