"""The Streamlit app: AppTest for each page, then a real headless Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from assistant.settings import get_settings
from tests.conftest import settings_env
from tests.helpers import wait_until

pytestmark = pytest.mark.integration
APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture()
def app_env(fresh, monkeypatch):  # type: ignore[no-untyped-def]
    """An ingested private data directory, exposed to the app through the environment."""
    from assistant.index import Index, drop_shared
    from ingest.sync import Syncer

    index = Index(fresh)
    Syncer(fresh, index).run()
    index.close()
    for key, value in settings_env(fresh).items():
        if key.startswith("DALIL_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("DALIL_FILE_SERVER_PORT", "0")
    get_settings.cache_clear()
    yield fresh
    import streamlit as st

    st.cache_resource.clear()
    drop_shared(fresh)
    get_settings.cache_clear()


def _app():  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=120)


def _add_owner(path: Path, *roles: str) -> None:
    from assistant.credentials import add_user
    from assistant.modes import Role

    add_user(path, "owner", "s3cret-pass", {Role(r) for r in roles or ("owner", "evaluator")})


def _sign_in(at, user: str = "owner", password: str = "s3cret-pass"):  # type: ignore[no-untyped-def]
    at.text_input(key="signin_user").set_value(user)
    at.text_input(key="signin_password").set_value(password)
    return at.button(key="FormSubmitter:signin-Se connecter").click().run()


def test_chat_answers_with_citations_and_saves_feedback(app_env) -> None:  # type: ignore[no-untyped-def]
    from assistant.audit import AuditLog

    at = _app().run()
    assert not at.exception
    at.chat_input[0].set_value("Combien de semaines dure le congé de maternité d'une agente publique ?").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any(label.startswith("[1] Article 3") for label in labels)
    html = " ".join(m.value for m in at.markdown)
    assert "quatorze semaines" in html and "dalil-badge" in html
    at.feedback[0].set_value(0).run()  # thumbs down
    at.selectbox(key="fb-1-reason").set_value("incomplète")
    at.text_input(key="fb-1-comment").set_value("Il manque le congé post-natal")
    submit = next(b for b in at.get("form_submit_button") if "fb-1-form" in b.key)
    submit.click().run()
    assert any("Merci" in c.value for c in at.caption)
    rows = AuditLog(app_env.audit_path).feedback_rows()
    assert rows and rows[0]["rating"] == -1 and rows[0]["reason"] == "incomplete"
    answers = AuditLog(app_env.audit_path).answers()
    assert answers and answers[0]["index_version"].endswith("docs")


def test_public_chat_never_shows_agent_texts_and_arabic_is_rtl(app_env) -> None:  # type: ignore[no-untyped-def]
    at = _app().run()
    at.chat_input[0].set_value("code d'accès interne au registre renouvelé chaque trimestre").run()
    assert not at.exception
    reply = " ".join(m.value for m in at.markdown)
    assert "dalil-answer" in reply  # a reply was rendered: the checks below look at something
    labels = [e.label for e in at.expander]
    assert labels
    assert all("circulaire" not in label.lower() for label in labels)
    assert "chef de division" not in reply  # nor is the circulaire's text quoted
    at.chat_input[0].set_value("ما هو مبلغ منحة التنقل الشهرية للموظفين؟").run()
    html = " ".join(m.value for m in at.markdown)
    assert 'dir="rtl"' in html


def test_admin_requires_sign_in_then_indexes_an_upload(app_env) -> None:  # type: ignore[no-untyped-def]
    from assistant.registry import Registry

    _add_owner(app_env.credentials_path)
    at = _app().run()
    at.switch_page("page_admin.py").run()
    assert not at.exception and not at.get("file_uploader")  # a citizen: the page says why, nothing more
    assert any("réservé" in w.value for w in at.warning)
    at.switch_page("page_chat.py").run()
    _sign_in(at, password="wrong")
    assert any("incorrect" in e.value for e in at.error)
    _sign_in(at)
    assert at.session_state.agent == "owner"
    at.switch_page("page_admin.py").run()
    assert not at.exception
    assert at.selectbox(key="upload_collection").value is None  # no silent default target
    at.selectbox(key="upload_collection").set_value("test_fr").run()
    at.get("file_uploader")[0].upload(
        "note_service.md",
        "# Article 1\n\nLe télétravail est autorisé deux jours par semaine.\n".encode(),
        "text/markdown",
    ).run()
    at.button(key="upload_index").click().run()
    assert not at.exception
    docs = {r.doc_id: r for r in Registry(app_env.registry_path).all()}
    uploaded = [r for r in docs.values() if r.source.endswith("note_service.md")]
    assert uploaded and uploaded[0].status == "indexed" and uploaded[0].chunks == 1


def test_admin_withdraw_asks_keeps_the_selection_and_restore_brings_it_back(app_env) -> None:  # type: ignore[no-untyped-def]
    from assistant.registry import Registry

    def status(doc_id: str) -> tuple[str, str | None]:
        registry = Registry(app_env.registry_path)
        try:
            rec = registry.get(doc_id)
        finally:
            registry.close()
        assert rec is not None
        return rec.status.value, rec.withdrawn_by

    _add_owner(app_env.credentials_path)
    at = _app().run()
    _sign_in(at)
    at.switch_page("page_admin.py").run()
    # a new collection's name becomes a file and a folder: `../` is refused before anything is written
    at.text_input(key="new_collection_name").set_value("../../evil")
    at.button(key="FormSubmitter:new_collection_form-Créer la collection").click().run()
    assert any("../../evil" in e.value for e in at.error)
    assert at.button(key="upload_index").disabled
    assert not (app_env.data_dir / "evil").exists()
    assert not list(app_env.definitions_dir.parent.glob("**/evil*"))

    doc = "test_fr:faq_etat_civil.md"
    others = [o for o in at.selectbox(key="doc_select").options if o != doc]
    assert others  # the selector could jump elsewhere
    at.selectbox(key="doc_select").set_value(doc).run()
    at.button(key="withdraw").click().run()
    assert not at.exception and status(doc) == ("indexed", None)  # asked first
    assert any(doc in w.value for w in at.warning)
    at.button(key="withdraw_yes").click().run()
    assert not at.exception and status(doc) == ("withdrawn", "owner")
    assert at.selectbox(key="doc_select").value == doc  # still the document acted on
    at.button(key="reindex_all").click().run()
    assert not at.exception and status(doc)[0] == "withdrawn"
    assert at.selectbox(key="doc_select").value == doc
    at.button(key="restore").click().run()
    assert not at.exception and status(doc) == ("indexed", None)
    assert at.selectbox(key="doc_select").value == doc


def test_quality_dashboard_renders_a_stored_run(app_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eval.runner import run

    dataset = tmp_path / "d.jsonl"
    dataset.write_text(
        json.dumps(
            {
                "id": "1",
                "question": "Congé de maternité ?",
                "language": "fr",
                "reference_contexts": ["quatorze semaines"],
                "kind": "factual",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    record = run(app_env, dataset, tag="dash")
    _add_owner(app_env.credentials_path, "evaluator")
    at = _app().run()
    at.switch_page("page_quality.py").run()
    assert not at.exception and not at.metric  # a citizen does not see it
    at.switch_page("page_chat.py").run()
    _sign_in(at)
    at.switch_page("page_quality.py").run()
    assert not at.exception
    assert any(record["run_id"] in c.value for c in at.caption)
    assert {m.label for m in at.metric} >= {"Rappel des extraits @5", "Justesse des refus"}


# --------------------------------------------------------------------------- real browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
]
# a Streamlit run that has finished: the app root says so (what Streamlit's own e2e tests wait on)
APP_IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-n:] if path.exists() else ""


@pytest.fixture()
def served(fresh, tmp_path):  # type: ignore[no-untyped-def]
    from assistant.credentials import add_user
    from assistant.modes import Role

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make setup` (apt-get install chromium)")
    env = settings_env(fresh)
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    add_user(fresh.credentials_path, "owner", "s3cret-pass", {Role.OWNER, Role.EVALUATOR})
    port = _free_port()
    env["DALIL_FILE_SERVER_PORT"] = str(_free_port())
    log = tmp_path / "dalil-ui.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads: the app never blocks on its output
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "ui", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"dalil ui exited with status {proc.returncode}")
        return bool(urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok")

    try:
        wait_until(healthy, timeout=120, what=f"dalil ui to answer {url}/_stcore/health", ignoring=(OSError,))
    except AssertionError as exc:
        proc.kill()
        proc.wait(timeout=20)
        pytest.fail(f"dalil ui did not start: {exc}\n--- its output ---\n{_tail(log)}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def _ask(page, question: str, n: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Ask the n-th question of the conversation and wait until its answer is final: while the answer
    streams, its chat message holds a .dalil-answer without badges; the final render adds them."""
    page.fill("textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """n => {
            const answers = [...document.querySelectorAll('[data-testid=stChatMessage]')]
                .filter(m => m.querySelector('.dalil-answer'));
            return answers.length >= n && answers.slice(0, n).every(m => m.querySelector('.dalil-badge'));
        }""",
        arg=n,
        timeout=90_000,
    )
    page.wait_for_selector(APP_IDLE, state="attached", timeout=90_000)


def _launch(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Pick the option starting with `option` in the selectbox labelled `label`."""
    box = page.locator("[data-testid=stSelectbox]").filter(has=page.get_by_text(label, exact=True))
    combo = box.get_by_role("combobox")
    combo.click()
    combo.fill(option)  # the list filters as one types; Enter takes the first match
    combo.press("Enter")
    page.wait_for_selector(APP_IDLE, state="attached", timeout=60_000)


def test_browser_french_and_arabic_questions(served) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served, wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _ask(page, "Combien de semaines dure le congé de maternité d'une agente publique ?", 1)
        answer = page.locator(".dalil-answer").last
        assert "quatorze semaines" in answer.inner_text()
        assert answer.get_attribute("dir") == "ltr"
        expander = page.locator("[data-testid=stMainBlockContainer] [data-testid=stExpander] summary").first
        expander.click()
        article = page.locator(".dalil-article").first
        expect(article).to_be_visible(timeout=30_000)
        assert "quatorze semaines" in article.inner_text()
        link = page.locator("a", has_text="page").first
        href = link.get_attribute("href")
        # a signed link to the document (ui/files.py), not its path; the page kept
        assert href and re.search(r"/test_fr%3Aloi_99-01_conges(\.pdf)?\?", href) and href.endswith("#page=1")
        assert urllib.request.urlopen(href.split("#")[0], timeout=10).read()[:5] == b"%PDF-"
        page.screenshot(path=str(ARTIFACTS / "chat-fr.png"))
        _ask(page, "ما هو مبلغ منحة التنقل الشهرية للموظفين؟", 2)
        arabic = page.locator(".dalil-answer").last
        assert arabic.get_attribute("dir") == "rtl"
        assert page.evaluate("el => getComputedStyle(el).direction", arabic.element_handle()) == "rtl"
        assert "منحة التنقل" in arabic.inner_text()
        page.screenshot(path=str(ARTIFACTS / "chat-ar.png"))
        browser.close()


def test_browser_admin_upload(served, fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    from assistant.registry import DocumentStatus, Registry

    ARTIFACTS.mkdir(exist_ok=True)
    note = tmp_path / "note_teletravail.md"
    note.write_text("# Article 1\n\nLe télétravail est autorisé deux jours par semaine.\n", encoding="utf-8")
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served, wait_until="networkidle")
        page.get_by_text("Connexion agent").click()
        page.get_by_label("Identifiant").fill("owner")
        page.get_by_label("Mot de passe").fill("s3cret-pass")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_selector("text=owner", timeout=30_000)
        page.locator(
            "[data-testid=stSidebar] a", has_text="Documents"
        ).first.click()  # same session: signed in
        page.wait_for_selector("input[type=file]", state="attached", timeout=30_000)
        choose(page, "Collection", "test_fr")  # no default target: the owner picks one
        # the upload widget speaks the interface language (its English words drawn over)
        drop = page.locator("[data-testid=stFileUploaderDropzoneInstructions] span").first
        assert "Glissez" in drop.evaluate("el => getComputedStyle(el, '::after').content")
        assert drop.evaluate("el => getComputedStyle(el).fontSize") == "0px"
        page.set_input_files("input[type=file]", str(note))
        page.get_by_role("button", name="Indexer", exact=True).click()
        page.wait_for_selector("text=Terminé", timeout=120_000)
        page.wait_for_selector(APP_IDLE, state="attached", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)

        # the registry has the upload, indexed with its one chunk
        uploaded = [
            r for r in Registry(fresh.registry_path).all() if r.source.endswith("note_teletravail.md")
        ]
        assert [(r.status, r.chunks) for r in uploaded] == [(DocumentStatus.INDEXED, 1)], uploaded

        # and the running app finds it: a question about it is answered with the upload as its source
        # (asked through the app, which holds the embedded index)
        page.locator("[data-testid=stSidebar] a", has_text="Assistant").first.click()
        page.wait_for_selector("textarea", timeout=30_000)
        _ask(page, "Combien de jours par semaine le télétravail est-il autorisé ?", 1)
        assert "deux jours par semaine" in page.locator(".dalil-answer").last.inner_text()
        cited = page.locator("[data-testid=stMainBlockContainer] [data-testid=stExpander]").filter(
            has=page.locator(".dalil-cite-meta", has_text="note_teletravail.md")
        )
        expect(cited).to_have_count(1, timeout=30_000)
        cited.locator("summary").click()
        article = cited.locator(".dalil-article")
        expect(article).to_be_visible(timeout=30_000)
        assert "Le télétravail est autorisé deux jours par semaine." in article.inner_text()
        page.screenshot(path=str(ARTIFACTS / "admin-upload-answer.png"))
        browser.close()
    assert os.path.exists(ARTIFACTS / "admin.png")
