"""No socket leaves loopback, and no name outside it is resolved, during ingest, ask (llm and
extractive), eval and the Streamlit app (each page, a question asked)."""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture()
def guard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            attempts.append(f"connect {address}")
            raise OSError("network access blocked by test")
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            attempts.append(f"connect_ex {address}")
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_loopback(host):
            attempts.append(f"resolve {host}")
            raise socket.gaierror("name resolution blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)

    def resolver(real):  # type: ignore[no-untyped-def]
        def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
            if not _is_loopback(host):
                attempts.append(f"resolve {host} ({real.__name__})")
                raise socket.gaierror("name resolution blocked by test")
            return real(host, *args, **kwargs)

        return resolve

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, resolver(getattr(socket, name)))
    return attempts


def test_ingest_ask_and_eval_stay_on_loopback(guard: list[str], fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer import Assistant
    from assistant.generation.chat import MistralChat
    from assistant.generation.server import LlamaServer, bundled_test_gguf
    from assistant.index import Index
    from assistant.retrieval import Retriever
    from eval.runner import run
    from ingest.sync import Syncer

    index = Index(fresh)
    report = Syncer(fresh, index).run()  # parsing (unstructured, OCR), embeddings, Qdrant
    assert not report.failed
    retriever = Retriever(index)
    server = LlamaServer(bundled_test_gguf(), port=0, n_ctx=2048, alias="local")
    try:
        chat = MistralChat(server.url, "k", "local", max_tokens=16)
        llm = Assistant(retriever, chat).ask("Combien de semaines dure le congé de maternité ?", mode="llm")
        extractive = Assistant(retriever, None).ask("ما هو مبلغ منحة التنقل الشهرية للموظفين؟")
        assert llm.citations and extractive.citations
        dataset = tmp_path / "d.jsonl"
        dataset.write_text(
            json.dumps(
                {
                    "id": "1",
                    "question": "Congé de maternité ?",
                    "language": "fr",
                    "kind": "factual",
                    "reference_answer": "quatorze semaines",
                    "reference_contexts": ["quatorze semaines"],
                }
            )
            + "\n",
            encoding="utf-8",
        )
        index.close()
        record = run(
            fresh.model_copy(update={"judge_max_tokens": 48}),
            dataset,
            judge_model="local",
            judge_url=server.url,
        )
        assert record["n"] == 1 and record["fingerprint"]["judge_model"] == "local"
        from eval.history import History

        item = History(fresh.eval_path).items(record["run_id"])[0]
        # the judge path ran end to end; with a 270M base model its scores are missing (NaN), no exception
        assert set(item["ragas"]) >= {
            "faithfulness",
            "response_relevancy",
            "llm_context_precision",
            "factual_correctness",
        }
    finally:
        server.stop()
    assert guard == []


def test_the_app_stays_on_loopback(guard: list[str], fresh, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The Streamlit app in-process (AppTest, as tests/test_ui.py drives it): a question on the chat
    page, then the Documents page (signed in) and the Quality page, under the same guard."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from assistant.credentials import add_user
    from assistant.index import Index, drop_shared
    from assistant.modes import Role
    from assistant.settings import get_settings
    from ingest.sync import Syncer
    from tests.conftest import settings_env
    from ui.i18n import t

    index = Index(fresh)
    assert not Syncer(fresh, index).run().failed
    index.close()
    for key, value in settings_env(fresh).items():
        if key.startswith("DALIL_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("DALIL_FILE_SERVER_PORT", "0")
    get_settings.cache_clear()
    add_user(fresh.credentials_path, "owner", "s3cret-pass", {Role.OWNER, Role.EVALUATOR})
    app = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
    try:
        at = AppTest.from_file(app, default_timeout=120).run()
        assert not at.exception
        at.chat_input[0].set_value(
            "Combien de semaines dure le congé de maternité d'une agente publique ?"
        ).run()
        assert not at.exception
        assert any(e.label.startswith("[1]") for e in at.expander)
        at.text_input(key="signin_user").set_value("owner")
        at.text_input(key="signin_password").set_value("s3cret-pass")
        at.button(key="FormSubmitter:signin-Se connecter").click().run()
        assert at.session_state.agent == "owner"
        at.switch_page("page_admin.py").run()
        assert not at.exception
        assert any(t("fr", "col_flagged_chunks") in frame.value.columns for frame in at.dataframe)
        at.switch_page("page_quality.py").run()
        assert not at.exception
    finally:
        st.cache_resource.clear()
        drop_shared(fresh)
        get_settings.cache_clear()
    assert guard == []
