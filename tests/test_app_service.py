"""The app through a running service: `dalil serve` in its own process holds the index (the
embedded engine locks its folder: any attempt of the app to open it would fail), and the app, given
DALIL_API_URL and DALIL_API_KEY, answers with citations (streamed), records feedback, lists the
service's jobs and manages documents through it (Streamlit's AppTest, in this process)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from assistant.apikeys import ApiKeyStore
from assistant.http_client import HttpClient
from assistant.keys import secret_key
from assistant.modes import Role
from assistant.settings import Settings, get_settings
from server.demo import free_port
from tests.conftest import settings_env
from tests.helpers import wait_until
from tests.test_ui import _add_owner, _app, _sign_in

pytestmark = pytest.mark.integration

QUESTION = "Combien de semaines dure le congé de maternité d'une agente publique ?"


@dataclass
class Served:
    settings: Settings
    url: str
    key: str  # the test's own (owner) key: the app's requests and the test's count apart

    def get(self, path: str) -> object:
        r = httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture()
def served(fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The fixture corpus indexed by `dalil serve` (a child process), and the app's environment
    pointing at it."""
    fresh.ensure_dirs()
    with ApiKeyStore(fresh.apikeys_path, secret_key(fresh)) as store:
        _, key = store.add("app", Role.OWNER)
        _, checker = store.add("checker", Role.OWNER)
    port = free_port(None)
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in settings_env(fresh).items() if k not in ("DALIL_API_URL", "DALIL_API_KEY")}
    service = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: httpx.get(url + "/readyz", timeout=5).status_code == 200,
            timeout=300,
            what="`dalil serve` to open the index",
            ignoring=(httpx.HTTPError,),
        )
        served = Served(fresh, url, checker)
        job = httpx.post(url + "/v1/reindex", json={}, headers={"Authorization": f"Bearer {checker}"}).json()
        wait_until(
            lambda: served.get(f"/v1/jobs/{job['id']}")["state"] == "done",  # type: ignore[index]
            timeout=600,
            what="the service's first ingestion",
            interval=1.0,
        )
        for name, value in settings_env(fresh).items():
            if name.startswith("DALIL_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("DALIL_API_URL", url)
        monkeypatch.setenv("DALIL_API_KEY", key)
        monkeypatch.setenv("DALIL_FILE_SERVER_PORT", "0")
        get_settings.cache_clear()
        yield served
    finally:
        import streamlit as st

        st.cache_resource.clear()
        get_settings.cache_clear()
        service.terminate()
        service.wait(60)


def test_the_app_answers_through_the_service_which_holds_the_index(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an ingestion under way (the first one of `dalil demo`) is shown with its progress
    running = {"state": "running", "progress": {"done": 3, "total": 25, "current": "loi.pdf"}}
    with monkeypatch.context() as patch:
        patch.setattr(HttpClient, "jobs", lambda self, limit=20: [running])
        at = _app().run()
    assert not at.exception and not at.error, at.error
    assert any("Indexation des textes en cours (3/25)" in i.value for i in at.info), at.info
    at = _app().run()
    assert not at.exception and not at.error, at.error
    assert not at.info  # nothing under way, and the index is not empty
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception and not at.error, at.error
    labels = [e.label for e in at.expander]
    assert any(label.startswith("[1] Article 3") for label in labels), labels
    html = " ".join(m.value for m in at.markdown)
    assert "quatorze semaines" in html and "dalil-badge" in html
    assert served.url + "/v1/documents/" in html  # a citation opens its file through the service
    # the service recorded the answer (under the app's key); the feedback is tied to it
    (entry,) = served.get("/v1/audit?limit=1")  # type: ignore[misc]
    assert entry["question"] == QUESTION
    at.feedback[0].set_value(0).run()
    at.selectbox(key="fb-1-reason").set_value("incomplète")
    submit = next(b for b in at.get("form_submit_button") if "fb-1-form" in b.key)
    submit.click().run()
    assert not at.exception and any("Merci" in c.value for c in at.caption)


def test_an_owner_manages_documents_through_the_service(served: Served) -> None:
    _add_owner(served.settings.credentials_path)
    at = _app().run()
    _sign_in(at)
    at.switch_page("page_admin.py").run()
    assert not at.exception and not at.error, at.error
    assert any(s.value == "Tâches du service" for s in at.subheader)  # the service's jobs, listed
    at.selectbox(key="upload_collection").set_value("test_fr").run()
    at.get("file_uploader")[0].upload(
        "note_service.md",
        "# Article 1\n\nLe télétravail est autorisé deux jours par semaine.\n".encode(),
        "text/markdown",
    ).run()
    at.button(key="upload_index").click().run()
    assert not at.exception and not at.error, at.error
    docs = served.get("/v1/documents")
    uploaded = [d for d in docs if d["source"].endswith("note_service.md")]  # type: ignore[attr-defined]
    assert uploaded and uploaded[0]["status"] == "indexed" and uploaded[0]["chunks"] == 1
    doc = uploaded[0]["doc_id"]
    at.selectbox(key="doc_select").set_value(doc).run()
    at.button(key="withdraw").click().run()
    at.button(key="withdraw_yes").click().run()
    assert not at.exception
    assert served.get(f"/v1/documents/{doc}")["status"] == "withdrawn"  # type: ignore[index]
    at.button(key="restore").click().run()
    assert not at.exception
    assert served.get(f"/v1/documents/{doc}")["status"] == "indexed"  # type: ignore[index]
    kinds = [j["kind"] for j in served.get("/v1/jobs")]  # type: ignore[attr-defined]
    assert kinds[:3] == ["restore", "withdraw", "upload"], kinds
