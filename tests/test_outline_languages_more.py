"""Outlines of real-looking Rust, Java, Ruby, C and C++ files (written here, not fetched;
the other languages are in test_outline_languages.py), and files' first lines without licence
headers, build tags, generated-code banners or markup underlines."""

from __future__ import annotations

import pytest

from float_hooks.code.languages import grammar_for
from float_hooks.code.parse import outline
from float_hooks.code.summaries import first_line
from tests.test_outline_languages import _check, _outline

RUST = '''\
//! Geometry primitives.

use std::fmt;

/// A point in two dimensions.
///
/// Coordinates are integers.
#[derive(Debug, Clone)]
pub struct Point {
    pub x: i64,
}

impl Point {
    /// Makes the origin.
    pub fn origin() -> Self {
        Point { x: 0 }
    }

    fn norm(&self) -> i64 { self.x.abs() }
}

/// Something with an area.
pub trait Shape {
    /// The area.
    fn area(&self) -> f64;
}

impl<T: Shape> fmt::Display for Wrapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "w") }
}

pub const MAX_POINTS: usize = 1024;

pub enum Kind { A, B }

macro_rules! square { ($x:expr) => { $x * $x }; }

pub mod shapes {}
'''


def test_rust() -> None:
    syms, refs = _outline("lib.rs", RUST)
    _check(syms["Point"], kind="struct", doc="A point in two dimensions.", public=True,
           signature="pub struct Point", line=9)
    _check(syms["Point.origin"], kind="method", doc="Makes the origin.", public=True,
           signature="pub fn origin() -> Self")
    _check(syms["Point.norm"], kind="method", public=False)
    _check(syms["Shape"], kind="trait", doc="Something with an area.")
    _check(syms["Shape.area"], kind="method", doc="The area.")
    _check(syms["Wrapper"], kind="impl")
    _check(syms["Wrapper.fmt"], kind="method")
    _check(syms["MAX_POINTS"], kind="constant", public=True)
    _check(syms["Kind"], kind="enum")
    _check(syms["square"], kind="macro")
    _check(syms["shapes"], kind="module", public=True)
    assert {"Point", "Shape", "Formatter", "write"} <= set(refs)
    assert first_line("lib.rs", RUST) == "Geometry primitives."


JAVA = '''\
/*
 * Copyright 2002-2024 the original author or authors.
 * Licensed under the Apache License, Version 2.0.
 */
package org.example.bank;

import java.util.List;

/**
 * A bank account with a balance.
 * <p>Thread safe.
 */
public class Account extends Entity {
    /** Creates an empty account. */
    public Account() {}

    /**
     * Deposits money.
     * @param amount the amount
     */
    public void deposit(long amount) { ledger.record(new Entry(amount)); }

    private void audit() {}

    /** What an account may do. */
    public interface Operation { void apply(Account a); }

    enum State { OPEN, CLOSED }
}

record Money(long cents) {}
'''


def test_java() -> None:
    syms, refs = _outline("Account.java", JAVA)
    _check(syms["Account"], kind="class", doc="A bank account with a balance.", public=True,
           signature="public class Account extends Entity")
    _check(syms["Account.Account"], kind="constructor", doc="Creates an empty account.")
    _check(syms["Account.deposit"], kind="method", doc="Deposits money.",
           signature="public void deposit(long amount)", public=True)
    _check(syms["Account.audit"], public=False)
    _check(syms["Account.Operation"], kind="interface")
    _check(syms["Account.State"], kind="enum")
    _check(syms["Money"], kind="class")
    assert {"Entity", "Entry", "record"} <= set(refs)
    assert first_line("Account.java", JAVA) is None  # a licence, then code


RUBY = '''\
# frozen_string_literal: true

# Active Record objects map to database rows.
module ActiveRecord
  # The base class of every model.
  class Base < Model
    DEFAULT_LIMIT = 100

    # Finds a record by id.
    def self.find(id)
      where(id: id).first
    end

    # Saves the record.
    def save(validate: true)
      run_callbacks(:save) { create_or_update }
    end
  end

  class Errors::Invalid < StandardError; end
end
'''


def test_ruby() -> None:
    syms, refs = _outline("base.rb", RUBY)
    _check(syms["ActiveRecord"], kind="module",
           doc="Active Record objects map to database rows.")
    _check(syms["ActiveRecord.Base"], kind="class", doc="The base class of every model.",
           signature="class Base < Model")
    _check(syms["Base.find"], kind="method", doc="Finds a record by id.",
           signature="def self.find(id)")
    _check(syms["Base.save"], kind="method", doc="Saves the record.")
    _check(syms["Base.DEFAULT_LIMIT"], kind="constant")
    _check(syms["ActiveRecord.Invalid"], kind="class")
    assert {"Model", "where", "run_callbacks"} <= set(refs)
    assert first_line("base.rb", RUBY) == "Active Record objects map to database rows."


C = '''\
/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 1991, 1992  Linus Torvalds
 */

#include <stdio.h>

#define MAX_TASKS 64
#define min(a, b) ((a) < (b) ? (a) : (b))

/* A task waiting to run. */
struct task {
	int pid;
};

typedef struct task task_t;

/*
 * schedule - pick the next task to run.
 */
int schedule(struct task *prev)
{
	return pick_next(prev);
}

static char **helper_names(void) { return 0; }

int wake_up(task_t *t);
'''


def test_c() -> None:
    syms, refs = _outline("sched.c", C)
    assert list(syms) == ["MAX_TASKS", "min", "task", "task_t", "schedule", "helper_names",
                          "wake_up"]
    _check(syms["schedule"], kind="function", signature="int schedule(struct task *prev)",
           doc="schedule - pick the next task to run.", public=True, line=21)
    _check(syms["helper_names"], public=False, signature="static char **helper_names(void)")
    _check(syms["task"], kind="struct", doc="A task waiting to run.")
    _check(syms["task_t"], kind="type")
    _check(syms["min"], kind="macro")
    assert {"pick_next", "task_t"} <= set(refs)
    assert first_line("sched.c", C) is None  # licence and copyright only


CPP = '''\
// Copyright 2024 Example
#include <vector>

namespace engine {

/// Renders a scene to a framebuffer.
template <typename T>
class Renderer : public Base {
 public:
  /// Draws one frame.
  void draw(const Scene& scene);
  int width() const { return w_; }
 private:
  void flush();
  int w_;
};

/// Draws one frame, for real.
void Renderer::draw(const Scene& scene) { flush(); submit(scene); }

struct Options { bool vsync; };

using Frame = std::vector<Pixel>;

}  // namespace engine
'''


def test_cpp() -> None:
    syms, refs = _outline("renderer.cpp", CPP)
    _check(syms["engine"], kind="module")
    _check(syms["engine.Renderer"], kind="class", doc="Renders a scene to a framebuffer.",
           signature="class Renderer : public Base", public=True)
    _check(syms["Renderer.width"], kind="method", public=True)
    _check(syms["Renderer.flush"], kind="method", public=False)
    draws = [s for s in _outline("renderer.cpp", CPP)[0].values() if s.name == "draw"]
    assert draws and all(s.parent == "Renderer" for s in draws)
    _check(syms["engine.Options"], kind="struct")
    _check(syms["engine.Frame"], kind="type")
    assert {"Base", "Scene", "submit"} <= set(refs)


@pytest.mark.parametrize(("name", "text", "want"), [
    ("test_cli.py", "# This file was part of Flask-CLI and was modified under the terms of\n"
     "# its Revised BSD License. Copyright © 2015 CERN.\nimport os\n", None),
    ("tag.py", '"""\nTagged JSON\n~~~~~~~~~~~\n\nA compact representation.\n"""\n',
     "Tagged JSON"),
    ("gen.go", "// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage pb\n", None),
    ("x.go", "//go:build linux && amd64\n// +build linux,amd64\n\n// Syscalls for Linux.\n"
     "package unix\n", "Syscalls for Linux."),
    ("a.js", "/**\n * @license MIT\n */\n\n// Parses query strings.\nmodule.exports = 1;\n",
     "Parses query strings."),
    ("run.sh", "#!/bin/sh\n# Builds the release.\nmake\n", "Builds the release."),
    ("GUIDE.md", "---\ntitle: x\n---\n\nUsage\n=====\n\nText.\n", "Usage"),
    ("cart.py", '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"""The cart."""\n',
     "The cart."),
])
def test_first_lines_skip_what_is_not_a_description(name: str, text: str,
                                                    want: str | None) -> None:
    assert first_line(name, text) == want


def test_outline_of_a_big_blob_is_empty_and_other_files_have_no_grammar() -> None:
    g = grammar_for("big.py")
    assert g is not None
    assert outline(g, b"x = 1\n" * 200_000).symbols == []  # over 1 MiB: not outlined
    assert grammar_for("notes.md") is None and grammar_for("Makefile") is None
