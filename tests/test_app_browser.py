"""The app in a real headless Chromium: a session that survives a reload and ends on sign-out,
past conversations reopened with their citations, mixed-direction quotes, export, `/chat`, and no
request leaving the app's origin."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import test_ui
from tests.helpers import wait_until
from tests.test_ui import APP_IDLE, ARTIFACTS, _ask, _launch

pytestmark = pytest.mark.integration
served = test_ui.served  # the app on a free port, over an ingested copy of the fixture corpus
DOCS = Path(__file__).resolve().parent.parent / "docs"
QUESTION = "Combien de semaines dure le congé de maternité d'une agente publique ?"


def _idle(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(APP_IDLE, state="attached", timeout=90_000)


def _sign_in(page, user: str = "owner", password: str = "s3cret-pass") -> None:  # type: ignore[no-untyped-def]
    page.get_by_text("Connexion agent").click()
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    _idle(page)


def _signed_in(page) -> bool:  # type: ignore[no-untyped-def]
    return page.get_by_role("button", name="Se déconnecter").count() > 0


def test_session_survives_a_reload_conversations_reopen_and_sign_out_ends_it(served, fresh) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(served, wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _sign_in(page)
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=30_000)
        wait_until(
            lambda: any(c["name"] == "dalil_session" for c in context.cookies()),
            timeout=30,
            what="the session cookie",
        )
        cookie = next(c for c in context.cookies() if c["name"] == "dalil_session")
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0
        _ask(page, QUESTION, 1)

        # a reload keeps the agent signed in, and the conversation is in the list
        page.reload(wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _idle(page)
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=30_000)
        assert page.locator(".dalil-answer").count() == 0  # a reload starts a new conversation
        past = page.locator("[class*=st-key-conv-open-] button", has_text="Combien de semaines").filter(
            visible=True
        )
        expect(past).to_have_count(1, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "conversations.png"))
        past.click()
        _idle(page)
        answer = page.locator(".dalil-answer").last
        expect(answer).to_contain_text("quatorze semaines", timeout=30_000)
        expander = page.locator("[data-testid=stMainBlockContainer] [data-testid=stExpander] summary").first
        expect(expander).to_contain_text("Article 3")
        expander.click()
        expect(page.locator(".dalil-article").first).to_contain_text("quatorze semaines", timeout=30_000)

        # copy: the answer with its citations as plain text
        page.get_by_role("button", name="Copier").first.click()
        code = page.locator("[data-testid=stCode]").first
        expect(code).to_contain_text("quatorze semaines", timeout=30_000)
        expect(code).to_contain_text("[1]")
        page.keyboard.press("Escape")

        # export: Markdown and a PDF whose text says the same
        with page.expect_download() as md:
            page.get_by_role("button", name="Exporter (Markdown)").click()
        text = Path(md.value.path()).read_text(encoding="utf-8")
        assert "quatorze semaines" in text and "Version de l'index" in text and "page" in text
        with page.expect_download() as pdf:
            page.get_by_role("button", name="Exporter (PDF)").click()
        from pypdf import PdfReader

        raw = Path(pdf.value.path()).read_bytes()
        assert raw[:5] == b"%PDF-"
        extracted = " ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(raw)).pages)
        assert "quatorze" in extracted and "Article 3" in extracted

        # delete it: gone from the list, and after a reload too
        page.locator("[class*=st-key-conv-delete-] button").filter(visible=True).first.click()
        _idle(page)
        expect(past).to_have_count(0, timeout=30_000)

        # sign-out: the cookie goes, a reload is a citizen's page, and the old token is refused
        page.get_by_role("button", name="Se déconnecter").click()
        _idle(page)
        expect(page.get_by_text("Connexion agent")).to_be_visible(timeout=30_000)
        page.reload(wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _idle(page)
        assert not _signed_in(page)
        context.add_cookies([{**cookie}])  # a copy of the token kept from before the sign-out
        page.reload(wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _idle(page)
        assert not _signed_in(page)
        browser.close()


def test_mixed_direction_quotes_take_their_own_direction(served, fresh) -> None:  # type: ignore[no-untyped-def]
    """An Arabic quote inside a French answer is right-to-left, a French quote inside an Arabic
    answer left-to-right, each in a paragraph of its own answer's direction."""
    from playwright.sync_api import expect, sync_playwright

    from assistant.conversations import ConversationStore, conversations_path
    from assistant.keys import secret_key

    arabic_quote = "« تستفيد الموظفة من رخصة ولادة مدتها 14 أسبوعا »"
    french_quote = "« Article 3 : le congé est de 14 semaines »"
    cite = {"n": 1, "article": "المادة 3", "title": "قانون الوظيفة العمومية", "page": 2, "source": "x.pdf"}
    with ConversationStore(conversations_path(fresh), secret_key(fresh)) as store:
        cid = store.append(
            "owner",
            None,
            "Que dit le texte arabe ?",
            {"answer": f"Le texte dit : {arabic_quote} [1]", "language": "fr", "citations": [cite]},
            "v-test",
        )
        store.append(
            "owner",
            cid,
            "ماذا يقول النص الفرنسي؟",
            {"answer": f"ينص القانون على ما يلي: {french_quote} [1]", "language": "ar", "citations": [cite]},
            "v-test",
        )
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served, wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _sign_in(page)
        page.locator("[class*=st-key-conv-open-] button", has_text="Que dit le texte").filter(
            visible=True
        ).click()
        _idle(page)
        expect(page.locator(".dalil-answer")).to_have_count(2, timeout=30_000)

        def direction(locator) -> str:  # type: ignore[no-untyped-def]
            return str(locator.evaluate("el => getComputedStyle(el).direction"))

        fr_answer, ar_answer = page.locator(".dalil-answer").all()
        assert direction(fr_answer.locator("p").first) == "ltr"
        assert direction(fr_answer.locator(".dalil-quote")) == "rtl"
        assert direction(ar_answer.locator("p").first) == "rtl"
        assert direction(ar_answer.locator(".dalil-quote")) == "ltr"
        # the citation title (Arabic) in a French interface
        summary = page.locator("[data-testid=stExpander] summary p", has_text="المادة 3").first
        assert summary.evaluate("el => getComputedStyle(el).unicodeBidi") == "plaintext"
        page.screenshot(path=str(ARTIFACTS / "mixed-direction.png"))
        browser.close()


def test_only_the_apps_own_origin_is_requested_and_chat_opens_directly(served) -> None:  # type: ignore[no-untyped-def]
    """A full session — every page, a question, sign-in, the Arabic interface —
    makes no request outside the app's origin (the citation file server on 127.0.0.1 is the app's
    own: same host, its own port)."""
    from playwright.sync_api import expect, sync_playwright

    origin = urlsplit(served)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(served + "/chat", wait_until="networkidle")  # opened directly: the chat
        page.wait_for_selector("textarea", timeout=60_000)
        assert page.get_by_text("Page not found").count() == 0
        # whitespace only: nothing asked, no empty bubble
        page.fill("textarea", "   ")
        page.keyboard.press("Enter")
        _idle(page)
        assert page.locator("[data-testid=stChatMessage]").count() == 0
        _ask(page, QUESTION, 1)
        _sign_in(page)
        for name in ("Documents", "Qualité", "Assistant"):
            page.locator("[data-testid=stSidebar] a", has_text=name).first.click()
            _idle(page)
        page.goto(served + "/quality", wait_until="networkidle")
        page.wait_for_selector("[data-testid=stSidebar] [data-testid=stSelectbox]", timeout=60_000)
        _idle(page)
        expect(
            page.get_by_text("Évolution des métriques").or_(page.get_by_text("Aucune évaluation"))
        ).to_be_visible()
        page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.get_by_role(
            "combobox"
        ).click()
        page.get_by_role("option", name="العربية").click()
        _idle(page)
        expect(page.get_by_text("لغة الواجهة")).to_be_visible(timeout=30_000)  # at once
        browser.close()
    outside = [
        u
        for u in requests
        if not u.startswith(("data:", "blob:"))
        and (urlsplit(u).hostname, urlsplit(u).scheme) != (origin.hostname, origin.scheme)
    ]
    assert requests and not outside, json.dumps(outside[:20], indent=1)


def test_docs_screenshots_are_small() -> None:
    shots = sorted(DOCS.glob("*.png"))
    assert shots, "screenshots of the pages are kept in docs/ for the README"
    assert all(s.stat().st_size < 400_000 for s in shots), [(s.name, s.stat().st_size) for s in shots]


def test_pdf_export_renders_arabic_shaped_and_right_to_left() -> None:
    """The PDF's text comes back through its ToUnicode map (the words, the index version, the
    date), and the glyphs drawn are the contextual forms HarfBuzz chose: shaped, not isolated."""
    from fpdf import FPDF  # noqa: F401  (the export needs it)
    from pypdf import PdfReader

    from ui.export import ExportTurn, conversation_pdf, is_rtl

    arabic = "تستفيد الموظفة من رخصة ولادة مدتها أربعة عشر أسبوعا"
    turns = [
        ExportTurn(
            "ما هي مدة رخصة الولادة؟",
            {
                "answer": f"« {arabic} » [1]",
                "citations": [
                    {"n": 1, "article": "المادة 3", "title": "القانون", "page": 2, "source": "a.pdf"}
                ],
            },
            "2026-11-23T10:00:00+00:00",
            "v-42",
        )
    ]
    raw = conversation_pdf(turns, "ar", "2026-11-23 10:00 UTC")
    reader = PdfReader(io.BytesIO(raw))
    text = unicodedata.normalize("NFKC", " ".join(pg.extract_text() for pg in reader.pages))
    text = re.sub("[\u2066-\u2069]", "", text)  # the isolates around runs of the other direction
    for word in ("رخصة", "ولادة", "أسبوعا", "المادة", "v-42", "2026-11-23"):
        assert word in text, (word, text)
    assert is_rtl(arabic) and not is_rtl("Article 3 : « نص »")
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert all("DejaVu" in str(f["/BaseFont"]) for f in fonts)
    # shaped: one Arabic letter is drawn by several glyphs (its initial, medial, final forms), each
    # mapped back to that letter by the font's ToUnicode table
    shaped = False
    for f in fonts:
        cmap = f["/ToUnicode"].get_object().get_data().decode("latin-1")
        targets = re.findall(r"<[0-9A-Fa-f]+> ?<(06[0-9A-Fa-f]{2})>", cmap)
        shaped = shaped or len(targets) > len(set(targets))
    assert shaped, "no Arabic letter has more than one glyph: the text was not shaped"


def test_quality_charts_fit_arabic_labels(served, fresh) -> None:  # type: ignore[no-untyped-def]
    """Two stored runs, the Quality page in Arabic: the charts' legends and axes show every metric
    and language name whole (no label cut with an ellipsis)."""
    from playwright.sync_api import expect, sync_playwright

    from eval.history import History
    from eval.runner import HEADLINE
    from ui.i18n import t
    from ui.quality import metric_name

    def record(run_id: str, ts: str, value: float) -> dict[str, object]:
        metrics: dict[str, object] = dict.fromkeys(HEADLINE, value)
        metrics["by_language"] = {g: dict.fromkeys(HEADLINE, value) for g in ("fr", "ar")}
        return {
            "run_id": run_id,
            "ts": ts,
            "dataset": "dev.jsonl",
            "dataset_hash": "x",
            "mode": "extractive",
            "fingerprint": {"git_commit": "abc1234"},
            "metrics": metrics,
            "n": 1,
        }

    with History(fresh.eval_path) as history:
        history.save(record("run-1", "2026-11-20T10:00:00+00:00", 0.6), [])
        history.save(record("run-2", "2026-11-21T10:00:00+00:00", 0.7), [])
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(served, wait_until="networkidle")
        page.wait_for_selector("textarea", timeout=60_000)
        _sign_in(page)
        page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.get_by_role(
            "combobox"
        ).click()
        page.get_by_role("option", name="العربية").click()
        _idle(page)
        page.locator("[data-testid=stSidebar] a", has_text=t("ar", "quality")).first.click()
        _idle(page)
        charts = page.locator("[data-testid=stVegaLiteChart] svg")
        expect(charts).to_have_count(2, timeout=60_000)
        drawn = page.locator(
            "[data-testid=stVegaLiteChart] svg text", has_text=metric_name("ar", HEADLINE[4])
        )
        expect(drawn.first).to_be_attached(timeout=30_000)  # vega draws after the element is attached
        labels = [
            s.strip() for s in page.locator("[data-testid=stVegaLiteChart] svg text").all_text_contents()
        ]
        names = {metric_name("ar", m) for m in HEADLINE[:5]}
        assert names <= set(labels), (names - set(labels), labels)
        assert {t("ar", "lang_fr"), t("ar", "lang_ar")} <= set(labels)
        assert not [s for s in labels if s.endswith("…")]
        # and inside their chart: no label runs off its left or right edge
        outside = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg')].flatMap(svg => {
                const box = svg.getBoundingClientRect();
                return [...svg.querySelectorAll('text')].map(el => [el.textContent, el.getBoundingClientRect()])
                    .filter(([, r]) => r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1))
                    .map(([text]) => text);
            })"""
        )
        assert not outside, outside
        page.screenshot(path=str(ARTIFACTS / "quality-ar.png"), full_page=True)
        browser.close()
