"""The OpenAI-compatible regenerator against a mocked endpoint (``responses``): success,
429 then success honouring Retry-After, 5xx retries, and a malformed answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from float_hooks.regen import openai_api
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs

URL = "http://llm.test/v1/chat/completions"


def _completion(content: str, model: str = "served-model-1") -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}]}


ANSWER = json.dumps({"map_summary": "Guides for users", "context_what": "Markdown guides.",
                     "context_why": "People read them.", "context_patterns": ["one topic each"],
                     "map_children": [{"name": "guide.md", "summary": "the guide"}]})


@pytest.fixture
def llm(synced: GitRepo, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    configure(synced, kind="openai", base_url="http://llm.test/v1", model="my-model",
              api_key_env="TEST_LLM_KEY", max_attempts=1)
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    slept: list[float] = []
    monkeypatch.setattr(openai_api.time, "sleep", slept.append)
    return slept


@responses.activate
def test_success_records_model_and_request_shape(synced: GitRepo, llm: list[float]) -> None:
    responses.post(URL, json=_completion(ANSWER))
    r = synced.float_json("regenerate", "/docs")
    assert r["done"] == ["/docs"]
    row = folder(synced, "/docs")
    assert row["map_summary"] == "Guides for users" and row["status"] == "current"
    assert row["ai_model"] == "served-model-1" and row["ai_updated"]
    assert row["context_patterns"] == ["one topic each"]
    call = responses.calls[0].request
    assert call.headers["Authorization"] == "Bearer sk-test"
    body = json.loads(call.body or b"")
    assert body["model"] == "my-model"
    assert body["response_format"] == {"type": "json_object"}
    user = json.loads(body["messages"][1]["content"])
    assert user["path"] == "/docs"
    assert user["files"][0]["excerpt"] == "# guide\n"
    assert llm == []


@responses.activate
def test_429_then_success_honours_retry_after(synced: GitRepo, llm: list[float]) -> None:
    responses.post(URL, status=429, headers={"Retry-After": "7"},
                   json={"error": {"message": "rate limited"}})
    responses.post(URL, status=503, body="overloaded")
    responses.post(URL, json=_completion(ANSWER))
    r = synced.float_json("regenerate", "/docs")
    assert r["done"] == ["/docs"] and len(responses.calls) == 3
    assert llm == [7.0, 2.0]  # Retry-After, then the default backoff for the second try
    assert folder(synced, "/docs")["map_summary"] == "Guides for users"


@responses.activate
def test_malformed_answer_fails_and_keeps_good_context(synced: GitRepo,
                                                       llm: list[float]) -> None:
    responses.post(URL, json=_completion(ANSWER))
    synced.float_ok("regenerate", "/docs")
    good = folder(synced, "/docs")
    synced.write("docs/guide.md", "# guide, second edition\n")
    synced.float_ok("sync")
    responses.replace(responses.POST, URL,
                      json=_completion("Here is the context you asked for: it's about docs"))
    r = synced.float("regenerate", "/docs", "--json")
    assert r.code == 1
    job = jobs(synced)["/docs"]
    assert job["state"] == "failed" and "not valid JSON" in job["last_error"]
    row = folder(synced, "/docs")
    assert row["status"] == "stale"
    assert {k: row[k] for k in ("map_summary", "context_why", "ai_model", "ai_updated")} == \
        {k: good[k] for k in ("map_summary", "context_why", "ai_model", "ai_updated")}
    # a response that is not a completion at all fails the same way
    responses.replace(responses.POST, URL, json={"unexpected": True})
    synced.float_ok("jobs", "--retry")
    synced.float("regenerate", "/docs")
    assert "unexpected response shape" in jobs(synced)["/docs"]["last_error"]


@responses.activate
def test_missing_key_and_client_error_fail_without_retrying(
        synced: GitRepo, llm: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_LLM_KEY")
    synced.float("regenerate", "/docs")
    assert "$TEST_LLM_KEY is not set" in jobs(synced)["/docs"]["last_error"]
    assert len(responses.calls) == 0
    monkeypatch.setenv("TEST_LLM_KEY", "sk-bad")
    responses.post(URL, status=401, json={"error": "bad key"})
    synced.float_ok("jobs", "--retry")
    synced.float("regenerate", "/docs")
    assert "HTTP 401" in jobs(synced)["/docs"]["last_error"]
    assert len(responses.calls) == 1 and llm == []
