"""The float-hooks webhook server: ``gunicorn 'webhook:create_app()'``.

GitHub push events are verified, recorded durably and answered at once; a worker then updates a
per-repository mirror and map with the same sync core as the git hooks. A small read API serves
the maps to agents and dashboards. Configuration: the ``FLOAT_*`` environment (settings.py).
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def _in_gunicorn_master() -> bool:
    """Whether gunicorn's arbiter is loading the app (``--preload``), as opposed to a worker
    process loading it for itself: the arbiter's code is on the call stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith("gunicorn/arbiter.py"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _log_to_gunicorn() -> None:
    """The server's INFO lines ("delivery ... done") go where gunicorn writes its own (its
    error log): without a handler of its own, Python drops everything below WARNING."""
    log = logging.getLogger("webhook")
    log.setLevel(logging.INFO)
    gunicorn_log = logging.getLogger("gunicorn.error")
    if gunicorn_log.handlers and not log.handlers:
        log.handlers = list(gunicorn_log.handlers)
        log.setLevel(gunicorn_log.level or logging.INFO)  # and its --log-level
        log.propagate = False


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app. ``config`` overrides the environment (keys are the ``FLOAT_*`` names; other
    keys, e.g. ``TESTING``, go to Flask's own config)."""
    # imported here, not at module level: `python -m webhook.worker` imports this package
    # first, and must not find its own module already imported; and a job process
    # (`python -m webhook.work.job`) has no use for Flask (slow to import)
    from flask import Flask  # lazy: the worker processes have no use for Flask
    from werkzeug.exceptions import (
        HTTPException,  # lazy: the worker processes have no use for Flask
    )

    from webhook import settings as settings_mod  # lazy: see the note above
    from webhook.access.token_store import SqliteTokens  # lazy: see the note above
    from webhook.intake import github  # lazy: see the note above
    from webhook.queues.sqlite_queue import Queue  # lazy: see the note above
    from webhook.worker import Worker  # lazy: see the note above

    settings = settings_mod.load(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = github.MAX_BODY
    app.config.update({k: v for k, v in (config or {}).items() if not k.startswith("FLOAT_")})
    app.extensions["float_settings"] = settings
    if settings.database_url:
        from webhook.queues.pg_store import apply_schema  # lazy: the [postgres] extra

        apply_schema(settings.database_url)  # fail at start-up when PostgreSQL is unusable
    else:
        # fail at start-up, not on the first push, when the data directory is unusable
        Queue(settings.data_dir).close()
        SqliteTokens(settings.data_dir).close()  # and make the API tokens' table

    worker = Worker(settings)
    app.extensions["float_worker"] = worker
    if settings.worker == "thread":
        if _in_gunicorn_master():
            # `gunicorn --preload`: this process only forks the workers; each starts its
            # threads right after the fork (the master reaps every child it has, so a job
            # process started here would be reaped behind the worker's back)
            worker.start_after_fork()
        else:
            worker.start()  # and again on each request in a process forked after this
        atexit.register(worker.stop, 10.0)

    from webhook.api import mcp_http, rest  # lazy: see the note above
    from webhook.dashboard import views  # lazy: see the note above
    from webhook.events import stream  # lazy: see the note above

    app.register_blueprint(rest.bp)
    app.register_blueprint(stream.bp)
    app.register_blueprint(views.bp)
    # every request passes the Endpoint: POST /webhook is answered there, the rest by Flask
    app.wsgi_app = github.Endpoint(settings, worker, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = mcp_http.Endpoint(settings, app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        return github.http_error(e)

    @app.errorhandler(Exception)
    def _internal_error(e: Exception) -> Any:
        return github.internal_error()

    _log_to_gunicorn()
    if not app.testing:
        # Everything built so far (Flask, werkzeug, the app) lives as long as the process:
        # leave it out of the cyclic GC's full collections, which otherwise walked it in
        # 5-20 ms pauses that every request queued behind them waited out.
        gc.freeze()
    return app
