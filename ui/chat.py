"""The chat page: streamed answers, openable citations, feedback, past conversations, copy and export."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from typing import Any, assert_never

import streamlit as st

from assistant.conversations import open_conversations
from assistant.dates import utc_now
from assistant.errors import DalilError
from assistant.messages import FinalEvent, MetaEvent, ResetEvent, TokenEvent
from assistant.modes import AnswerMode
from ui import state
from ui.export import ExportTurn, answer_text, conversation_markdown, conversation_pdf
from ui.i18n import REASON_CODES, error_message, examples, t

_CITE = re.compile(r"\[(\d+)\]")
# a quoted span: French guillemets, English curly quotes, straight double quotes
_QUOTE = re.compile(r"«[^«»]*»|“[^“”]*”|\"[^\"]*\"")


def _dir(language: str | None) -> str:
    return "rtl" if language == "ar" else "ltr"


def _inline(line: str) -> str:
    """One escaped line with each quote isolated in its own direction and citation markers raised."""
    out, last = [], 0
    for m in _QUOTE.finditer(line):
        out.append(html.escape(line[last : m.start()], quote=False))
        out.append(f'<span class="dalil-quote" dir="auto">{html.escape(m.group(0), quote=False)}</span>')
        last = m.end()
    out.append(html.escape(line[last:], quote=False))
    return _CITE.sub(r"<sup><b>[\1]</b></sup>", "".join(out))


def answer_html(text: str, language: str) -> str:
    """The answer as HTML: the block in the answer's language direction, each paragraph and each
    quote taking its own direction from its content (`dir="auto"`), so a French quote in an Arabic
    answer, or an Arabic one in a French answer, keeps its punctuation and its numbers in order."""
    paragraphs = [f'<p dir="auto">{_inline(line)}</p>' for line in text.split("\n") if line.strip()]
    return f'<div class="dalil-answer" dir="{_dir(language)}" lang="{language}">{"".join(paragraphs)}</div>'


def _badges(answer: dict[str, Any], lang: str) -> str:
    out = []
    if answer.get("refused"):
        out.append(f'<span class="dalil-badge refused">{html.escape(t(lang, "refused"))}</span>')
    elif answer.get("mode") == AnswerMode.LLM:
        out.append(
            f'<span class="dalil-badge model">{t(lang, "mode_llm")}: <bdi>{html.escape(answer.get("model") or "")}</bdi></span>'
        )
    else:
        out.append(f'<span class="dalil-badge">{html.escape(t(lang, "mode_extractive"))}</span>')
    if any(not c.get("in_force", True) for c in answer.get("citations", [])):
        out.append(f'<span class="dalil-badge warn">⚠ {html.escape(t(lang, "not_in_force"))}</span>')
    ms = (answer.get("timings_ms") or {}).get("total")
    if ms is not None:
        out.append(f'<span class="dalil-badge"><bdi>{ms:.0f} ms</bdi></span>')
    return "".join(out)


def render_citations(answer: dict[str, Any], lang: str) -> None:
    cites = answer.get("citations") or []
    if not cites:
        return
    st.markdown(f"**{t(lang, 'sources')}**")
    for c in cites:
        # an expander's label is plain text: its direction comes from the CSS (unicode-bidi: plaintext)
        title = f"[{c['n']}] {c.get('article') or ''} — {c.get('title') or ''}"
        with st.expander(title):
            meta = [
                f"<bdi>{html.escape(c.get('source') or '')}</bdi>",
                f"{t(lang, 'page')} <bdi>{c.get('page') or '?'}</bdi>",
            ]
            if c.get("reference"):
                meta.insert(0, f"{t(lang, 'reference')} : <bdi>{html.escape(c['reference'])}</bdi>")
            st.markdown(
                f'<div class="dalil-cite-meta" dir="auto">{" · ".join(meta)}</div>', unsafe_allow_html=True
            )
            if not c.get("in_force", True):
                st.markdown(
                    f'<span class="dalil-badge warn">⚠ {html.escape(t(lang, "not_in_force"))}</span>',
                    unsafe_allow_html=True,
                )
            st.markdown(
                f'<div class="dalil-article" dir="auto">{html.escape(c.get("text") or c.get("excerpt") or "")}</div>',
                unsafe_allow_html=True,
            )
            # through a service: its link, signed for this session's audience; else the app's own
            link = c.get("url") if state.remote() else state.file_link(c.get("doc_id") or "", c.get("page"))
            if link:
                st.markdown(f"[:material/description: {t(lang, 'open')} {c.get('page') or 1}]({link})")


def render_feedback(index: int, message: dict[str, Any], lang: str) -> None:
    if message.get("audit_id") is None:  # a reopened conversation: its feedback was asked then
        return
    key = f"fb-{index}"
    if key in st.session_state.feedback_done:
        st.caption(t(lang, "thanks"))
        return
    rating = st.feedback("thumbs", key=f"{key}-rating")
    if rating is None:
        return
    reasons = t(lang, "reasons").split("|")
    with st.form(f"{key}-form"):
        reason = None
        if rating == 0:
            choice = st.selectbox(t(lang, "reason"), reasons, key=f"{key}-reason")
            reason = REASON_CODES[reasons.index(choice)]
        comment = st.text_input(t(lang, "comment"), key=f"{key}-comment")
        if st.form_submit_button(t(lang, "send")):
            try:
                state.client().feedback(
                    message["audit_id"], 1 if rating == 1 else -1, reason=reason, comment=comment
                )
            except DalilError as exc:  # the service unreachable or busy: say so, ask again later
                st.error(error_message(lang, exc))
                return
            st.session_state.feedback_done.add(key)
            st.rerun()


# ---------------------------------------------------------------- conversations
def _new_conversation() -> None:
    st.session_state.messages = []
    st.session_state.conversation_id = None
    st.session_state.feedback_done = set()


def _messages_of(turns: list[ExportTurn]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tu in turns:
        out.append({"role": "user", "content": tu.question})
        out.append(
            {
                "role": "assistant",
                "content": tu.answer.get("answer") or "",
                "answer": tu.answer,
                "audit_id": None,
                "ts": tu.ts,
                "index_version": tu.index_version,
            }
        )
    return out


def _turns(messages: list[dict[str, Any]]) -> list[ExportTurn]:
    turns, question = [], ""
    for m in messages:
        if m["role"] == "user":
            question = m["content"]
        else:
            turns.append(ExportTurn(question, m["answer"], m.get("ts") or "", m.get("index_version")))
    return turns


def _save_turn(question: str, message: dict[str, Any], lang: str) -> None:
    """Keep the turn: in the agent's stored conversations, or in the citizen's browser session."""
    agent = st.session_state.agent
    if agent:
        try:
            with open_conversations(state.settings()) as store:
                st.session_state.conversation_id = store.append(
                    agent,
                    st.session_state.conversation_id,
                    question,
                    message["answer"],
                    message.get("index_version"),
                )
        except DalilError as exc:  # the answer is shown and audited; only the list misses it
            st.error(error_message(lang, exc))
        return
    convs: dict[str, dict[str, Any]] = st.session_state.session_conversations
    cid = st.session_state.conversation_id
    if cid not in convs:
        cid = secrets.token_urlsafe(8)
        convs[cid] = {
            "title": " ".join(question.split())[:80],
            "language": message["answer"].get("language"),
            "created_at": message.get("ts") or utc_now(),
        }
        st.session_state.conversation_id = cid
    convs[cid]["messages"] = st.session_state.messages
    convs[cid]["updated_at"] = message.get("ts") or utc_now()


def _summaries() -> list[dict[str, Any]]:
    agent = st.session_state.agent
    if agent:
        with open_conversations(state.settings()) as store:
            return [
                {"id": s.id, "title": s.title, "language": s.language, "date": s.updated_at}
                for s in store.list(agent)
            ]
    convs: dict[str, dict[str, Any]] = st.session_state.session_conversations
    rows = [
        {"id": cid, "title": c["title"], "language": c["language"], "date": c.get("updated_at", "")}
        for cid, c in convs.items()
    ]
    return sorted(rows, key=lambda r: r["date"], reverse=True)


def _open(cid: str) -> None:
    agent = st.session_state.agent
    if agent:
        with open_conversations(state.settings()) as store:
            conv = store.get(agent, cid)
        if conv is None:
            return
        turns = [ExportTurn(tu.question, tu.answer, tu.ts, tu.index_version) for tu in conv.turns]
        st.session_state.messages = _messages_of(turns)
    else:
        found = st.session_state.session_conversations.get(cid)
        if found is None:
            return
        st.session_state.messages = found["messages"]
    st.session_state.conversation_id = cid
    st.session_state.feedback_done = set()


def _delete(cid: str) -> None:
    agent = st.session_state.agent
    if agent:
        with open_conversations(state.settings()) as store:
            store.delete(agent, cid)
    else:
        st.session_state.session_conversations.pop(cid, None)
    if st.session_state.conversation_id == cid:
        _new_conversation()


def _history_sidebar(lang: str) -> None:
    try:
        rows = _summaries()
    except DalilError as exc:  # a damaged conversation store: the chat goes on without its list
        st.error(error_message(lang, exc))
        return
    st.markdown(f"**{t(lang, 'history')}**")
    if not rows:
        st.caption(t(lang, "history_empty"))
        return
    if not st.session_state.agent:
        st.caption(t(lang, "history_session_only"))
    for row in rows:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        current = row["id"] == st.session_state.conversation_id
        c1.button(
            row["title"],
            key=f"conv-open-{row['id']}",
            on_click=_open,
            args=(row["id"],),
            use_container_width=True,
            type="primary" if current else "secondary",
            help=f"{row['date'][:16].replace('T', ' ')} · {t(lang, 'lang_' + (row['language'] or 'fr'))}",
        )
        c2.button(
            "",
            icon=":material/delete:",
            key=f"conv-delete-{row['id']}",
            on_click=_delete,
            args=(row["id"],),
            help=t(lang, "delete_conversation"),
        )
        c1.caption(
            f"<bdi>{row['date'][:10]}</bdi> · {t(lang, 'lang_' + (row['language'] or 'fr'))}",
            unsafe_allow_html=True,
        )


def _export_buttons(lang: str) -> None:
    turns = _turns(st.session_state.messages)
    if not turns:
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    day = stamp[:10]
    c1, c2 = st.columns(2)
    c1.download_button(
        t(lang, "export_md"),
        data=lambda: conversation_markdown(turns, lang, stamp),
        file_name=f"dalil-{day}.md",
        mime="text/markdown",
        key="export_md",
        on_click="ignore",
        use_container_width=True,
    )
    c2.download_button(
        t(lang, "export_pdf"),
        data=lambda: conversation_pdf(turns, lang, stamp),
        file_name=f"dalil-{day}.pdf",
        mime="application/pdf",
        key="export_pdf",
        on_click="ignore",
        use_container_width=True,
    )


def _controls(lang: str, info: dict[str, Any]) -> dict[str, Any]:
    with st.sidebar:
        st.button(
            t(lang, "new"),
            icon=":material/add_comment:",
            use_container_width=True,
            key="new_conversation",
            on_click=_new_conversation,
        )
        with st.expander(t(lang, "advanced")):
            date = st.date_input(t(lang, "date"), value=dt.date.today(), key="as_of")
            # those this session's audience may choose, read now: one an owner just created too
            known = info["collections"]
            chosen = st.multiselect(
                t(lang, "collections"), known, key="collections", placeholder=t(lang, "choose")
            )
        mode = AnswerMode.LLM if info["model"] else AnswerMode.EXTRACTIVE
        label = f"{t(lang, 'mode_llm')}: {info['model']}" if info["model"] else t(lang, "mode_extractive")
        st.caption(f":material/memory: {label}")
        _history_sidebar(lang)
    return {"date": date.isoformat() if date else None, "collections": chosen or None, "mode": mode}


INGESTION_REFRESH_S = 2.0  # how often an ingestion's progress is read again while it runs


def _ingestion_notice(lang: str) -> bool:
    """Through a service, an ingestion under way (the first one of `dalil demo`) and how far it is,
    read again every few seconds; whether one is under way."""
    if not state.remote():
        return False

    def under_way() -> dict[str, Any] | None:
        try:
            jobs = state.client().jobs(3)
        except DalilError:  # a key that may not list jobs: nothing to say
            return None
        return next((j for j in jobs if j["state"] in ("queued", "running")), None)

    if under_way() is None:
        return False

    @st.fragment(run_every=INGESTION_REFRESH_S)
    def notice() -> None:
        job = under_way()
        if job is not None:
            p = job["progress"]
            st.info(t(lang, "ingestion_under_way", done=p["done"], total=p["total"] or "?"))

    notice()
    return True


def chat_page() -> None:
    lang = st.session_state.lang
    st.markdown(
        '<div class="dalil-brand"><span class="logo">دليل</span><span class="name">Dalil</span></div>'
        f'<div class="dalil-sub" dir="auto">{html.escape(t(lang, "subtitle"))}</div>',
        unsafe_allow_html=True,
    )
    try:
        info = state.client().status(audience=st.session_state.audience)
    except DalilError as exc:
        st.error(error_message(lang, exc))
        return
    opts = _controls(lang, info)
    if not _ingestion_notice(lang) and info["chunks"] == 0:
        st.info(t(lang, "empty_index"))
    for i, msg in enumerate(st.session_state.messages):
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.markdown(f'<div dir="auto">{html.escape(msg["content"])}</div>', unsafe_allow_html=True)
            else:
                _render_answer(msg, lang, i)
                render_feedback(i, msg, lang)
    question = st.chat_input(t(lang, "ask"))
    if question is not None and not question.strip():
        question = None  # whitespace only: no empty bubble, nothing asked
    if not st.session_state.messages and not question:
        st.markdown(f"**{t(lang, 'examples')}**")
        cols = st.columns(3)
        for i, (col, example) in enumerate(zip(cols, examples(lang), strict=False)):
            if col.button(example, key=f"example-{i}", use_container_width=True):
                question = example
    if not question:
        _export_buttons(lang)
        return
    limit = state.settings().tuning.max_query_chars
    if len(question.strip()) > limit:
        st.error(t(lang, "error_too_long", n=len(question.strip()), limit=limit))
        _export_buttons(lang)
        return
    _answer(question, opts, lang)
    _export_buttons(lang)


def _answer(question: str, opts: dict[str, Any], lang: str) -> None:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(f'<div dir="auto">{html.escape(question)}</div>', unsafe_allow_html=True)
    history = [
        {"role": m["role"], "content": m["content"] if m["role"] == "user" else m["answer"]["answer"]}
        for m in st.session_state.messages[:-1]
    ]
    with st.chat_message("assistant"):
        placeholder = st.empty()
        text = ""
        final = None
        ending = None
        try:
            for event in state.client().ask_stream(
                question,
                mode=opts["mode"],
                date=opts["date"],
                collections=opts["collections"],
                audience=st.session_state.audience,
                history=history,
                user=st.session_state.agent,
            ):
                match event:
                    case MetaEvent():
                        pass
                    case TokenEvent(text=piece):
                        text += piece
                        placeholder.markdown(answer_html(text, _lang_of(question)), unsafe_allow_html=True)
                    case ResetEvent(text=replacement):
                        text = replacement
                        placeholder.markdown(answer_html(text, _lang_of(question)), unsafe_allow_html=True)
                    case FinalEvent(answer=answer_record):
                        final, ending = answer_record, event
                    case _:
                        assert_never(event)
        except DalilError as exc:
            st.session_state.messages.pop()  # the question stays typed nowhere: ask again
            placeholder.error(error_message(lang, exc))
            return
        assert final is not None and ending is not None
        answer = final.as_dict()
        answer["citations"] = [c.as_dict(full=True) | {"url": c.url} for c in final.citations]
        audit_id = ending.audit_id  # recorded in the audit trail by the client, as `dalil ask` does
        placeholder.empty()
        message = {
            "role": "assistant",
            "content": answer["answer"],
            "answer": answer,
            "audit_id": audit_id,
            "ts": utc_now(),
            "index_version": ending.index_version,
        }
        st.session_state.messages.append(message)
        _render_answer(message, lang, len(st.session_state.messages) - 1)
        _save_turn(question, message, lang)
        render_feedback(len(st.session_state.messages) - 1, message, lang)


def _lang_of(question: str) -> str:
    from assistant.language import detect_language

    return detect_language(question)


def _render_answer(message: dict[str, Any], lang: str, index: int) -> None:
    answer = message["answer"]
    st.markdown(answer_html(answer["answer"], answer.get("language") or "fr"), unsafe_allow_html=True)
    st.markdown(_badges(answer, lang), unsafe_allow_html=True)
    if answer.get("notice"):
        st.markdown(
            f'<div class="dalil-notice" dir="auto">{html.escape(answer["notice"])}</div>',
            unsafe_allow_html=True,
        )
    render_citations(answer, lang)
    with st.popover(t(lang, "copy"), icon=":material/content_copy:"):
        st.caption(t(lang, "copy_help"))
        st.code(answer_text(answer, lang), language=None, wrap_lines=True)
