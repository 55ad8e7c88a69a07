"""The float-hooks webhook server: ``gunicorn 'webhook:create_app()'``.

GitHub push events are verified, recorded durably and answered at once; a worker then updates a
per-repository mirror and map with the same sync core as the git hooks. A small read API serves
the maps to agents and dashboards. Configuration: the ``FLOAT_*`` environment (settings.py).
"""

from __future__ import annotations

import atexit
import gc
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from webhook import github
from webhook import settings as settings_mod


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app. ``config`` overrides the environment (keys are the ``FLOAT_*`` names; other
    keys, e.g. ``TESTING``, go to Flask's own config)."""
    # imported here, not at module level: `python -m webhook.worker` imports this package
    # first, and must not find its own module already imported
    from webhook.deliveries import Queue
    from webhook.worker import Worker

    settings = settings_mod.load(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = github.MAX_BODY
    app.config.update({k: v for k, v in (config or {}).items() if not k.startswith("FLOAT_")})
    app.extensions["float_settings"] = settings
    # fail at start-up, not on the first push, when the data directory is unusable
    Queue(settings.data_dir).close()

    worker = Worker(settings)
    app.extensions["float_worker"] = worker
    if settings.worker == "thread":
        worker.start()  # and again on each request in a process forked after this (Endpoint)
        atexit.register(worker.stop, 10.0)

    from webhook import api, mcp_http

    app.register_blueprint(api.bp)
    # every request passes the Endpoint: POST /webhook is answered there, the rest by Flask
    app.wsgi_app = github.Endpoint(settings, worker, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = mcp_http.Endpoint(settings, app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        return github.http_error(e)

    @app.errorhandler(Exception)
    def _internal_error(e: Exception) -> Any:
        return github.internal_error()

    logging.getLogger("webhook").setLevel(logging.INFO)
    if not app.testing:
        # Everything built so far (Flask, werkzeug, the app) lives as long as the process:
        # leave it out of the cyclic GC's full collections, which otherwise walked it in
        # 5-20 ms pauses that every request queued behind them waited out.
        gc.freeze()
    return app
