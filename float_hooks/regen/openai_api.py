"""The OpenAI-compatible regenerator: one chat-completions call per job through ``requests``.

Works with any endpoint that speaks the chat-completions protocol (hosted APIs, Ollama, vLLM,
LM Studio): ``base_url``, ``model`` and the *name* of the environment variable holding the key
come from ``[regenerate]`` (an empty ``api_key_env`` sends no key, for local servers). The
answer is requested as a JSON object. 429 and 5xx answers and connection failures are retried,
honouring ``Retry-After``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import requests

from float_hooks.errors import quoted
from float_hooks.regen.request import INSTRUCTIONS, RegenError, Request, parse_answer

RETRIES = 4  # extra attempts within one job, before the job itself fails and backs off
MAX_WAIT = 60.0  # never sleep longer than this for one Retry-After


class OpenAIRegenerator:
    def __init__(self, base_url: str, model: str, api_key_env: str, timeout: float,
                 environ: Mapping[str, str] | None = None):
        """``environ``: where the key variable is looked up; None: this process's own (the
        CLI). The webhook server passes only the variables its operator allowed
        (FLOAT_REGEN_ENV), so a repository cannot name one of the server's secrets."""
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.environ = environ

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            environ = os.environ if self.environ is None else self.environ
            key = environ.get(self.api_key_env)
            if not key:
                where = "" if self.environ is None else (
                    " here: the server hands regenerators only the variables named in"
                    " FLOAT_REGEN_ENV")
                raise RegenError(f"${self.api_key_env} is not set{where} (the key for"
                                 f" {self.url}; set [regenerate] api_key_env = \"\" for none)")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def __call__(self, request: Request) -> tuple[dict[str, Any], str]:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": json.dumps(
                    {k: v for k, v in request.as_json().items() if k != "instructions"})},
            ],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        data = self._post(body, self.headers())
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RegenError(f"{self.url}: unexpected response shape: {str(data)[:300]}"
                             ) from None
        if not isinstance(content, str):
            raise RegenError(f"{self.url}: the message has no text content")
        fields = parse_answer(content)
        model = data.get("model") if isinstance(data.get("model"), str) else self.model
        return fields, str(model)

    def _post(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        last = ""
        for attempt in range(RETRIES + 1):
            try:
                resp = requests.post(self.url, json=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as e:
                last = f"{self.url}: {type(e).__name__}: {e}"
                wait = 2.0 ** attempt
            else:
                if resp.status_code == 429 or resp.status_code >= 500:
                    last = f"{self.url}: HTTP {resp.status_code}: {resp.text[:300]}"
                    wait = _retry_after(resp.headers.get("Retry-After"), 2.0 ** attempt)
                elif resp.status_code >= 400:
                    raise RegenError(f"{self.url}: HTTP {resp.status_code}: {resp.text[:300]}")
                else:
                    try:
                        data = resp.json()
                    except ValueError:
                        raise RegenError(f"{self.url}: response is not JSON:"
                                         f" {quoted(resp.text, 300)}") from None
                    if not isinstance(data, dict):
                        raise RegenError(f"{self.url}: response is not a JSON object")
                    return data
            if attempt < RETRIES:
                time.sleep(min(wait, MAX_WAIT))
        raise RegenError(f"gave up after {RETRIES + 1} tries: {last}")


def _retry_after(value: str | None, default: float) -> float:
    """Seconds from a Retry-After header (a number; an HTTP date falls back to ``default``)."""
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default
