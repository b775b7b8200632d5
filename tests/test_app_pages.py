"""The app's pages through Streamlit's AppTest: every page in every language shows only that
language's strings (and no raw dict or list), roles gate the pages, an owner's agents-only
collection stays out of a citizen's answers, failed sign-ins lock, blank questions are ignored."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from assistant.language import LANGUAGES
from tests import test_ui
from tests.test_ui import _add_owner, _app, _sign_in
from ui.i18n import strings, t

pytestmark = pytest.mark.integration
app_env = test_ui.app_env  # an ingested private data directory, exposed through the environment
PAGES = ("page_chat.py", "page_admin.py", "page_quality.py")
# a Python dict or list printed as such: {'added': 1, ...}, [{'doc_id': ...}], {} or []
REPR = re.compile(r"\{'[^']*':|\[\{'|\[\]|\{\}|\['[^']*',")


def _texts(at: Any) -> list[str]:
    """Every text the page shows: element values, labels, options, placeholders, help, table heads."""
    out: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "header",
        "subheader",
        "info",
        "warning",
        "error",
        "success",
        "text",
        "code",
    ):
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in (
        "button",
        "selectbox",
        "multiselect",
        "text_input",
        "date_input",
        "radio",
        "metric",
        "expander",
        "file_uploader",
        "download_button",
        "chat_input",
        "form_submit_button",
    ):
        for e in (
            at.get(kind)
            if kind in ("file_uploader", "download_button", "form_submit_button")
            else getattr(at, kind)
        ):
            proto = getattr(e, "proto", None)
            for attr in ("label", "placeholder", "help"):
                value = getattr(proto, attr, None) if proto is not None else None
                if isinstance(value, str) and value:
                    out.append(value)
            options = getattr(proto, "options", None) if proto is not None else None
            if options:
                out += [str(o) for o in options]
    for frame in at.dataframe:
        out += [str(c) for c in frame.value.columns]
        out += [str(v) for v in frame.value.astype(str).to_numpy().ravel() if v]
    return out


def _foreign(lang: str) -> dict[str, str]:
    """Strings of the other interface languages that `lang`'s table does not have: text -> key."""
    own = {entry[lang] for entry in strings().values()}
    foreign: dict[str, str] = {}
    for key, entry in strings().items():
        if key == "language_name":  # the language selector names each language in itself
            continue
        for other in LANGUAGES:
            if other == lang or entry[other] in own:
                continue
            text = entry[other].split("{")[0].strip()  # the fixed part before any placeholder
            if len(text) >= 4 and not any(text in mine for mine in own):
                foreign[text] = f"{key} ({other})"
    return foreign


def _check_page(at: Any, lang: str, page: str) -> list[str]:
    problems = []
    foreign = _foreign(lang)
    for text in _texts(at):
        for phrase, key in foreign.items():
            if text.strip() == phrase or (len(phrase) >= 12 and phrase in text):
                problems.append(f"{lang} {page}: {key!r} shown: {text[:120]!r}")
        if REPR.search(text):
            problems.append(f"{lang} {page}: raw repr: {text[:120]!r}")
    return problems


def test_every_page_in_every_language_shows_only_that_language(app_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
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
    run(app_env, dataset, tag="walk")
    _add_owner(app_env.credentials_path)
    at = _app().run()
    _sign_in(at)
    at.chat_input[0].set_value("Combien de semaines dure le congé de maternité d'une agente publique ?").run()
    assert not at.exception
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lang in LANGUAGES:
        at.selectbox(key="lang_select").set_value(lang).run()
        assert at.selectbox(key="lang_select").label == t(lang, "lang")  # the label follows at once
        for page in PAGES:
            at.switch_page(page).run()
            assert not at.exception, (lang, page, at.exception)
            problems += _check_page(at, lang, page)
            seen[f"{lang} {page}"] = len(_texts(at))
    assert all(n > 5 for n in seen.values()), seen  # the walk looked at something on every page
    assert not problems, "\n".join(problems[:40])


def test_pages_need_their_roles(app_env) -> None:  # type: ignore[no-untyped-def]
    from assistant.credentials import add_user
    from assistant.modes import Role

    add_user(app_env.credentials_path, "agent", "agent-pass-1")  # an agent, no other role
    at = _app().run()
    for page, none in (("page_admin.py", "file_uploader"), ("page_quality.py", "metric")):
        at.switch_page(page).run()
        assert not at.exception and not at.get(none)
        assert [w.value for w in at.warning] == [t("fr", "needs_signin")]
    at.switch_page("page_chat.py").run()
    _sign_in(at, "agent", "agent-pass-1")
    assert at.session_state.roles == {Role.AGENT}
    at.switch_page("page_admin.py").run()
    assert [w.value for w in at.warning] == [t("fr", "needs_owner")]
    at.switch_page("page_quality.py").run()
    assert [w.value for w in at.warning] == [t("fr", "needs_evaluator")]
    links = {link.proto.label for link in at.get("page_link")}
    assert t("fr", "admin") not in links and t("fr", "quality") not in links


def test_an_owner_creates_an_agents_only_collection_a_citizen_never_sees(app_env) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from assistant.registry import Registry

    _add_owner(app_env.credentials_path)
    at = _app().run()
    _sign_in(at)
    at.switch_page("page_admin.py").run()
    at.text_input(key="new_collection_name").set_value("notes_internes")
    at.radio(key="new_collection_audience").set_value("agents")
    at.button(key="FormSubmitter:new_collection_form-Créer la collection").click().run()
    assert not at.exception and not at.error
    definition = yaml.safe_load((app_env.definitions_dir / "notes_internes.yaml").read_text("utf-8"))
    assert definition["audience"] == "agents"
    at.selectbox(key="upload_collection").set_value("notes_internes").run()
    at.get("file_uploader")[0].upload(
        "note_astreinte.md",
        "# Article 1\n\nLa prime d'astreinte de nuit est fixée à 350 dirhams par nuit.\n".encode(),
        "text/markdown",
    ).run()
    at.button(key="upload_index").click().run()
    assert not at.exception
    assert any(t("fr", "status_added") in c.value for c in at.caption)  # a sentence, not a dict
    (rec,) = [r for r in Registry(app_env.registry_path).all() if r.collection == "notes_internes"]
    assert rec.chunks == 1

    # metadata edits go to the data directory, never into the definition
    before = (app_env.definitions_dir / "notes_internes.yaml").read_bytes()
    at.selectbox(key="doc_select").set_value(rec.doc_id).run()
    form_title = next(ti for ti in at.text_input if ti.label == t("fr", "doc_title"))
    form_title.set_value("Note sur l'astreinte")
    next(b for b in at.get("form_submit_button") if "metadata" in b.key).click().run()
    assert not at.exception
    assert (app_env.definitions_dir / "notes_internes.yaml").read_bytes() == before
    assert "Note sur l'astreinte" in app_env.metadata_path.read_text("utf-8")

    # an agent's answer cites it; a citizen's never does
    at.switch_page("page_chat.py").run()
    at.chat_input[0].set_value("Quel est le montant de la prime d'astreinte de nuit ?").run()
    assert any("note_astreinte" in m.value for m in at.markdown)
    at.button(key="signout").click().run()
    assert at.session_state.agent is None
    assert "notes_internes" not in at.multiselect(key="collections").options
    at.chat_input[0].set_value("Quel est le montant de la prime d'astreinte de nuit ?").run()
    assert not at.exception
    assert not any("note_astreinte" in m.value or "350 dirhams" in m.value for m in at.markdown)


def test_failed_sign_ins_lock_with_a_message_and_blank_questions_are_ignored(app_env) -> None:  # type: ignore[no-untyped-def]
    from assistant.tuning import TUNING

    _add_owner(app_env.credentials_path)
    at = _app().run()
    at.chat_input[0].set_value("   \n ").run()
    assert not at.exception and not at.chat_message and at.session_state.messages == []
    for _ in range(TUNING.signin_max_failures_account - 1):
        _sign_in(at, password="wrong-password")
        assert [e.value for e in at.error] == [t("fr", "bad_credentials")]
    _sign_in(at, password="wrong-password")
    assert any(e.value.startswith("Trop de tentatives") for e in at.error)
    _sign_in(at)  # the right password, while locked
    assert at.session_state.agent is None
    assert any(e.value.startswith("Trop de tentatives") for e in at.error)
