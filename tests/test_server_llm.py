"""The `dalil` profile with a real model (llama.cpp on 127.0.0.1 through the mistralai SDK): the
OpenAI-compatible stream carries the model's tokens, then, when the grounding check replaces the
model's answer, a chunk flagged `dalil.reset` with the replacement; the answer is cited either way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from assistant.generation.chat import MistralChat
from assistant.modes import Role
from assistant.settings import Settings
from tests.helpers import wait_until
from tests.serving import Service, copy_data, running_service

pytestmark = pytest.mark.integration

QUESTION = "Combien de semaines dure le congé de maternité d'une agente publique ?"


@pytest.fixture(scope="module")
def llama_url() -> Iterator[tuple[str, str]]:
    """`dalil serve-llm` in its own process (the test model), as a deployment runs its model server:
    (url, model alias)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve-llm", "--port", "0", "--ctx", "2048"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, COLUMNS="400"),
    )
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        found = wait_until(
            lambda: re.search(r"serving (\S+) on (http://127\.0\.0\.1:\d+)", "".join(said)),
            timeout=120,
            what="dalil serve-llm to listen",
        )
        yield found.group(2), found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def service(
    llama_url: tuple[str, str], indexed: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url, alias = llama_url
    settings = copy_data(indexed, tmp_path_factory.mktemp("served-llm") / "data")
    with running_service(settings, chat=MistralChat(url, "k", alias, max_tokens=48)) as svc:
        yield svc


def test_model_answers_stream_and_stay_cited(service: Service) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=service.url + "/v1", api_key=service.keys[Role.AGENT], max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="dalil", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1
    extra = final[0].model_extra or {}
    assert extra["citations"] and extra["dalil"]["refused"] is False
    assert extra["dalil"]["grounding"] in ("none", "repaired", "downgraded", "fallback")
    resets = [c for c in chunks if (c.model_extra or {}).get("dalil", {}).get("reset")]
    if extra["dalil"]["grounding"] in ("downgraded", "fallback", "repaired"):
        # the 270M test model cannot cite: its answer is replaced, and the stream says so
        assert len(resets) == 1 and "quatorze semaines" in (resets[0].choices[0].delta.content or "")
    else:
        assert not resets

    plain = client.chat.completions.create(model="dalil", messages=[{"role": "user", "content": QUESTION}])
    assert (plain.model_extra or {})["citations"]
