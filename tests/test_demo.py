"""`dalil demo` over the fixture corpus and an empty data directory: the service and the app start,
the first ingestion runs as a job of the service, the app answers its health check, an answer
through the service cites a fixture document, the app in Chromium answers through the service
(its citation opens the file there), and SIGINT stops everything (no process left in
either child's process group, the demo's one-off key revoked)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from assistant.apikeys import ApiKeyStore
from assistant.keys import secret_key
from assistant.modes import Role
from assistant.settings import Settings
from server.demo import DEMO_KEY_NAME, free_port
from tests.conftest import settings_env
from tests.helpers import wait_until
from tests.test_ui import _ask, _launch

pytestmark = pytest.mark.integration

QUESTION = "Quelle est la durée du congé de maternité ?"


def _chat_in_a_browser(app: str, api: str) -> None:
    """The app, in Chromium, streams an answer from the service; its citation opens the file
    through the service (the app starts no file server of its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app, wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _ask(page, QUESTION, 1)
        assert page.locator(".dalil-answer").last.inner_text().strip()
        page.locator("[data-testid=stMainBlockContainer] [data-testid=stExpander] summary").first.click()
        link = page.locator(f'a[href^="{api}/v1/documents/"]').first
        link.wait_for(state="attached", timeout=30_000)
        href = link.get_attribute("href")
        assert href
        assert httpx.get(href.split("#")[0], timeout=30).status_code == 200  # signed: no key needed
        browser.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_demo_starts_answers_through_the_service_and_stops_cleanly(
    fresh: Settings, tmp_path: Path
) -> None:
    fresh.ensure_dirs()
    with ApiKeyStore(fresh.apikeys_path, secret_key(fresh)) as store:
        _, key = store.add("asker", Role.AGENT)
    app_port, api_port = free_port(None), free_port(None)
    env = settings_env(fresh)
    for name in ("DALIL_API_URL", "DALIL_API_KEY"):
        env.pop(name, None)
    out = tmp_path / "demo.txt"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "demo",
                "--port",
                str(app_port),
                "--api-port",
                str(api_port),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{app_port}/_stcore/health", timeout=5).status_code == 200,
            timeout=300,
            what="the app's health check",
            ignoring=(httpx.HTTPError,),
        )

        def cited() -> str | None:
            r = httpx.post(
                f"{api}/v1/answers",
                json={"question": QUESTION, "mode": "extractive"},
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            citations = r.json().get("citations") if r.status_code == 200 else None
            return citations[0]["doc_id"] if citations else None

        doc_id = wait_until(cited, timeout=600, what="an answer citing a fixture document", interval=1.0)
        folders = {p.name for p in fresh.corpus_dir.iterdir() if p.is_dir()}
        assert doc_id.split(":", 1)[0] in folders, doc_id
        _chat_in_a_browser(f"http://127.0.0.1:{app_port}", api)
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(180)
    text = out.read_text()
    assert code == 0, text
    pids = sorted({int(p) for p in re.findall(r"\(pid (\d+)\)", text)})
    assert len(pids) == 2, text  # the service and the app
    assert not [p for p in pids if _group_alive(p)], f"left running: {pids}\n{text}"
    assert "first ingestion submitted as job" in text and "stopped" in text, text
    with ApiKeyStore(fresh.apikeys_path, secret_key(fresh)) as store:
        demo_keys = [k for k in store.list() if k.name == DEMO_KEY_NAME]
    assert demo_keys and not any(k.active for k in demo_keys), demo_keys


@pytest.mark.unit
def test_a_quick_first_run_takes_small_text_files_first(tmp_path: Path) -> None:
    from ingest.sync import processing_order

    sizes = {"a.pdf": 10, "b.md": 300, "c.docx": 5, "d.txt": 20, "e.txt": 20, "f.html": 1}
    files = []
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
        files.append(tmp_path / name)
    quick = [p.name for _, p in processing_order(files, quick_first=True)]
    assert quick == ["f.html", "d.txt", "e.txt", "b.md", "c.docx", "a.pdf"]  # same kind and size: as found
    assert [i for i, _ in processing_order(files, quick_first=False)] == list(range(len(files)))
    assert sorted(i for i, _ in processing_order(files, quick_first=True)) == list(range(len(files)))
