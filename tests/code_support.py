"""A small Flask-like package (written here, not fetched) for the code-map tests."""

from __future__ import annotations

from tests.gitrepo import GitRepo

FILES = {
    "src/flask/__init__.py": "from .app import Flask as Flask\n"
                             "from .blueprints import Blueprint as Blueprint\n"
                             "from .config import Config as Config\n",
    "src/flask/app.py": '''\
from .config import Config
from .scaffold import Scaffold


class Flask(Scaffold):
    """The flask object implements a WSGI application and acts as the central object."""

    config_class = Config

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self.config = Config()

    def add_url_rule(self, rule: str, endpoint: str | None = None) -> None:
        """Connects a URL rule."""

    def wsgi_app(self, environ, start_response):
        """The actual WSGI application."""
        return self.full_dispatch_request()

    def _find_error_handler(self, e):
        return None
''',
    "src/flask/scaffold.py": '''\
class Scaffold:
    """Common behavior shared between Flask and Blueprint."""

    def route(self, rule: str, **options):
        """Decorate a view function to register it with the given URL rule."""
        return self.add_url_rule(rule)
''',
    "src/flask/blueprints.py": '''\
from .scaffold import Scaffold


class Blueprint(Scaffold):
    """Represents a blueprint, a collection of routes and other app-related functions."""

    def register(self, app, options):
        """Called by Flask.register_blueprint to register all views of the blueprint."""
''',
    "src/flask/config.py": '''\
class Config(dict):
    """Works exactly like a dict but provides ways to fill it from files."""

    def from_pyfile(self, filename: str) -> bool:
        """Updates the values in the config from a Python file."""
        return True
''',
    "src/flask/sessions.py": '''\
from .config import Config


class SessionInterface:
    """The basic interface you have to implement in order to replace the session."""


def make_null_session(app):
    """Creates a null session."""
    return Config()
''',
    ".github/workflows/ci.yml": "name: CI\non: [push]\njobs:\n  test:\n    runs-on: x\n"
                                "  lint:\n    runs-on: x\n",
    ".github/workflows/release.yml": "name: Release\non: [push]\njobs:\n  publish:\n"
                                     "    runs-on: x\n",
    "docs/install.md": "Installation\n============\n\nUse pip.\n",
    "docs/quickstart.rst": "Quickstart\n~~~~~~~~~~\n\nA minimal app.\n",
}


def flask_like(repo: GitRepo) -> GitRepo:
    for path, text in FILES.items():
        repo.write(path, text)
    repo.commit("flask-like")
    repo.float_ok("init")
    return repo
