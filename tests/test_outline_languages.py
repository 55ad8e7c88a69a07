"""Outlines of real-looking files in each language we outline (written here, not fetched):
the definitions with kind, name, parent, lines, signature, first doc sentence and visibility;
the identifiers each file references; files' first lines without licence headers, build tags,
generated-code banners or markup underlines."""

from __future__ import annotations

from typing import Any

from float_hooks.code.languages import grammar_for
from float_hooks.code.parse import Symbol, outline
from float_hooks.code.summaries import first_line


def _outline(name: str, src: str) -> tuple[dict[str, Symbol], dict[str, int]]:
    g = grammar_for(name)
    assert g is not None, name
    o = outline(g, src.encode())
    syms: dict[str, Symbol] = {}
    for s in o.symbols:  # the first of a name: a struct before its impl block
        syms.setdefault((f"{s.parent}." if s.parent else "") + s.name, s)
    return syms, o.refs


def _check(sym: Symbol, **want: Any) -> None:
    got = {k: getattr(sym, k) for k in want}
    assert got == want, sym


PYTHON = '''\
# Copyright 2010 Pallets
"""The application object."""
from .scaffold import Scaffold

DEFAULT_PORT = 5000
_cache = {}


class Flask(Scaffold):
    """The flask object implements a WSGI application and acts as the central
    object.  It is passed the name of the module.

    More text.
    """

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
    ) -> None:  # registers it
        """Connects a URL rule.  Works exactly like :meth:`route`."""
        def local(): ...

    def _private(self):
        pass


def make_response(*args):
    # a comment, not a docstring
    return Flask("x").make_default_options_response()
'''


def test_python() -> None:
    syms, refs = _outline("app.py", PYTHON)
    assert list(syms) == ["DEFAULT_PORT", "Flask", "Flask.__init__", "Flask.add_url_rule",
                          "Flask._private", "make_response"]  # no locals, no _cache
    _check(syms["Flask"], kind="class", line=9, end_line=29, signature="class Flask(Scaffold)",
           doc="The flask object implements a WSGI application and acts as the central"
               " object.", public=True)
    _check(syms["Flask.add_url_rule"], kind="method", parent="Flask",
           signature="def add_url_rule( self, rule: str, endpoint: str | None = None, )"
                     " -> None", doc="Connects a URL rule.", public=True)
    _check(syms["Flask._private"], public=False, doc=None)
    _check(syms["make_response"], kind="function", doc=None, signature="def make_response(*args)")
    _check(syms["DEFAULT_PORT"], kind="constant", signature="DEFAULT_PORT = 5000")
    assert {"Scaffold", "Flask", "setupmethod", "make_default_options_response"} <= set(refs)
    assert len({s.hash for s in syms.values()}) == len(syms)


GO = '''\
// Copyright 2013 Docker, Inc.
// Licensed under the Apache License, Version 2.0

//go:build linux

// Package mux implements a request router.
package mux

// Router registers routes to be matched and dispatches a handler.
//
// It implements the http.Handler interface.
type Router struct {
	routes []*Route
}

// Matcher is what a route matches with.
type Matcher interface {
	Match(req *http.Request) bool
}

// NewRouter returns a new router instance.
func NewRouter() *Router {
	return &Router{}
}

// HandleFunc registers a new route with a matcher for the URL path.
func (r *Router) HandleFunc(path string, f func()) *Route {
	return r.NewRoute().Path(path)
}

func (r Router) walk() error { return nil }

const Version = "1.8"
'''


def test_go() -> None:
    syms, refs = _outline("mux.go", GO)
    assert list(syms) == ["Router", "Matcher", "Matcher.Match", "NewRouter",
                          "Router.HandleFunc", "Router.walk", "Version"]
    _check(syms["Router"], kind="struct", signature="type Router struct",
           doc="Router registers routes to be matched and dispatches a handler.", public=True)
    _check(syms["Matcher"], kind="interface", public=True)
    _check(syms["Router.HandleFunc"], kind="method", parent="Router", line=27,
           signature="func (r *Router) HandleFunc(path string, f func()) *Route",
           doc="HandleFunc registers a new route with a matcher for the URL path.")
    _check(syms["Router.walk"], parent="Router", public=False)
    _check(syms["Version"], kind="constant", signature='const Version = "1.8"')
    assert {"Router", "Route", "NewRoute", "Path"} <= set(refs)
    assert first_line("mux.go", GO) == "Package mux implements a request router."


JAVASCRIPT = '''\
/*!
 * express
 * MIT Licensed
 */
'use strict';

/**
 * Create an express application.
 *
 * @return {Function}
 * @api public
 */
function createApplication() {
  var app = mixin(function (req, res) {});
  return app;
}

class Router {
  /** Dispatch a request into the router. */
  handle(req, res, out) {}
  #secret() {}
}

const defaults = { etag: true };

module.exports = createApplication;
'''


def test_javascript() -> None:
    syms, refs = _outline("express.js", JAVASCRIPT)
    assert list(syms) == ["createApplication", "Router", "Router.handle", "Router.#secret",
                          "defaults"]
    _check(syms["createApplication"], kind="function", doc="Create an express application.",
           signature="function createApplication()", public=True)
    _check(syms["Router.handle"], kind="method", doc="Dispatch a request into the router.")
    _check(syms["Router.#secret"], public=False)
    assert "mixin" in refs


TYPESCRIPT = '''\
import { Injectable } from "./di";

/** A store of typed items. */
export class Store<T> extends Base implements Readable {
  /** Add one item. */
  add(item: T): void {}
  private evict(): void {}
}

/** What every item has. */
export interface Item {
  id: string;
  render(): string;
}

export type Id = string | number;

export enum Color { Red, Green }

/** Make a store. */
export const makeStore = <T,>(items: T[]): Store<T> => new Store<T>();

function helper(): Id { return 1; }

export namespace Shapes { export const PI = 3.14; }
'''


def test_typescript() -> None:
    syms, refs = _outline("store.ts", TYPESCRIPT)
    assert list(syms)[:4] == ["Store", "Store.add", "Store.evict", "Item"]
    _check(syms["Store"], kind="class", doc="A store of typed items.",
           signature="export class Store<T> extends Base implements Readable", public=True)
    _check(syms["Store.evict"], public=False)
    _check(syms["Item"], kind="interface", doc="What every item has.")
    _check(syms["Item.render"], kind="method", parent="Item")
    _check(syms["Id"], kind="type")
    _check(syms["Color"], kind="enum", public=True)
    _check(syms["makeStore"], kind="function", doc="Make a store.", public=True,
           signature="export const makeStore = <T,>(items: T[]): Store<T> =>")
    _check(syms["helper"], kind="function", public=False)
    _check(syms["Shapes"], kind="module")
    assert {"Store", "Base", "Readable", "Injectable"} <= set(refs)


TSX = '''\
import React from "react";

// The page layout: header, navigation and content.
export function Layout({ children }: Props) {
  return <Page><Nav items={items} />{children}</Page>;
}

export default function App() {
  return <Layout>hi</Layout>;
}
'''


def test_tsx() -> None:
    syms, refs = _outline("App.tsx", TSX)
    assert list(syms) == ["Layout", "App"]
    _check(syms["Layout"], kind="function", public=True,
           doc="The page layout: header, navigation and content.")
    assert {"Page", "Nav", "Layout", "Props"} <= set(refs)
