"""The float-hooks webhook server: ``gunicorn 'webhook:create_app()'``.

GitHub push events are verified, recorded durably and answered at once; a worker then updates a
per-repository mirror and map with the same sync core as the git hooks. A small read API serves
the maps to agents and dashboards. Configuration: the ``FLOAT_*`` environment (settings.py).
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify
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
        worker.start()
        atexit.register(worker.stop, 10.0)

        @app.before_request
        def _worker_alive() -> None:
            worker.start()  # no-op unless this process was forked after create_app

    from webhook import api

    app.register_blueprint(api.bp)
    app.wsgi_app = github.Endpoint(settings, worker, app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        return jsonify(error=e.name, message=e.description), e.code or 500

    @app.errorhandler(Exception)
    def _internal_error(e: Exception) -> Any:
        app.logger.exception("unhandled error")
        return jsonify(error="Internal Server Error",
                       message="the server failed; see its log"), 500

    logging.getLogger("webhook").setLevel(logging.INFO)
    return app
