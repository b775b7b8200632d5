"""The chat page: streamed answers, openable citations, feedback."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any, assert_never

import streamlit as st

from assistant.errors import DalilError
from assistant.messages import FinalEvent, MetaEvent, ResetEvent, TokenEvent
from assistant.modes import AnswerMode, Audience
from ui import state
from ui.i18n import REASON_CODES, examples, t

_CITE = re.compile(r"\[(\d+)\]")


def _dir(language: str | None) -> str:
    return "rtl" if language == "ar" else "ltr"


def _answer_html(text: str, language: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    body = _CITE.sub(r"<sup><b>[\1]</b></sup>", body)
    return f'<div class="dalil-answer" dir="{_dir(language)}" lang="{language}">{body}</div>'


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
    ms = answer.get("timings_ms", {}).get("total")
    if ms is not None:
        out.append(f'<span class="dalil-badge"><bdi>{ms:.0f} ms</bdi></span>')
    return "".join(out)


def render_citations(answer: dict[str, Any], lang: str) -> None:
    cites = answer.get("citations") or []
    if not cites:
        return
    st.markdown(f"**{t(lang, 'sources')}**")
    for c in cites:
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
            text_dir = "rtl" if re.search("[\u0600-\u06ff]", c.get("text") or "") else "ltr"
            st.markdown(
                f'<div class="dalil-article" dir="{text_dir}">{html.escape(c.get("text") or c.get("excerpt") or "")}</div>',
                unsafe_allow_html=True,
            )
            link = state.file_link(c.get("source") or "", c.get("page"))
            if link:
                st.markdown(f"[:material/description: {t(lang, 'open')} {c.get('page') or 1}]({link})")


def render_feedback(index: int, message: dict[str, Any], lang: str) -> None:
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
            d = state.dalil()
            d.audit.feedback(
                message.get("audit_id"),
                1 if rating == 1 else -1,
                reason,
                comment,
                message["answer"],
                d.index_version(),
            )
            st.session_state.feedback_done.add(key)
            st.rerun()


def _controls(lang: str) -> dict[str, Any]:
    d = state.dalil()
    with st.sidebar:
        if st.button(
            t(lang, "new"), icon=":material/add_comment:", use_container_width=True, key="new_conversation"
        ):
            st.session_state.messages = []
            st.rerun()
        with st.expander(t(lang, "advanced")):
            date = st.date_input(t(lang, "date"), value=dt.date.today(), key="as_of")
            known = sorted(d.retriever.known_collections())
            if st.session_state.audience == Audience.PUBLIC:
                known = [
                    c
                    for c in known
                    if d.retriever.collections.get(c) is None
                    or d.retriever.collections[c].audience == Audience.PUBLIC
                ]
            chosen = st.multiselect(t(lang, "collections"), known, key="collections")
        mode = AnswerMode.LLM if d.assistant.chat is not None else AnswerMode.EXTRACTIVE
        label = (
            f"{t(lang, 'mode_llm')}: {d.assistant.chat.name}"
            if d.assistant.chat
            else t(lang, "mode_extractive")
        )
        st.caption(f":material/memory: {label}")
    return {"date": date.isoformat() if date else None, "collections": chosen or None, "mode": mode}


def chat_page() -> None:
    lang = st.session_state.lang
    st.markdown(
        '<div class="dalil-brand"><span class="logo">دليل</span><span class="name">Dalil</span></div>'
        f'<div class="dalil-sub" dir="auto">{html.escape(t(lang, "subtitle"))}</div>',
        unsafe_allow_html=True,
    )
    try:
        d = state.dalil()
    except DalilError as exc:
        st.error(str(exc))
        return
    opts = _controls(lang)
    if d.index.store.count() == 0:
        st.info(t(lang, "empty_index"))
    for i, msg in enumerate(st.session_state.messages):
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.markdown(f'<div dir="auto">{html.escape(msg["content"])}</div>', unsafe_allow_html=True)
            else:
                _render_answer(msg, lang)
                render_feedback(i, msg, lang)
    question = st.chat_input(t(lang, "ask"))
    if not st.session_state.messages and not question:
        st.markdown(f"**{t(lang, 'examples')}**")
        cols = st.columns(3)
        for i, (col, example) in enumerate(zip(cols, examples(lang), strict=False)):
            if col.button(example, key=f"example-{i}", use_container_width=True):
                question = example
    if not question:
        return
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
        try:
            for event in d.assistant.ask_stream(
                question,
                mode=opts["mode"],
                date=opts["date"],
                collections=opts["collections"],
                audience=st.session_state.audience,
                history=history,
            ):
                match event:
                    case MetaEvent():
                        pass
                    case TokenEvent(text=piece):
                        text += piece
                        placeholder.markdown(_answer_html(text, _lang_of(question)), unsafe_allow_html=True)
                    case ResetEvent(text=replacement):
                        text = replacement
                        placeholder.markdown(_answer_html(text, _lang_of(question)), unsafe_allow_html=True)
                    case FinalEvent(answer=answer_record):
                        final = answer_record
                    case _:
                        assert_never(event)
        except DalilError as exc:
            placeholder.error(str(exc))
            return
        assert final is not None
        answer = final.as_dict()
        answer["citations"] = [c.as_dict(full=True) for c in final.citations]
        audit_id = d.log(final, user=st.session_state.agent, audience=st.session_state.audience)
        placeholder.empty()
        message = {"role": "assistant", "content": answer["answer"], "answer": answer, "audit_id": audit_id}
        _render_answer(message, lang)
        st.session_state.messages.append(message)
        render_feedback(len(st.session_state.messages) - 1, message, lang)


def _lang_of(question: str) -> str:
    from assistant.language import detect_language

    return detect_language(question)


def _render_answer(message: dict[str, Any], lang: str) -> None:
    answer = message["answer"]
    st.markdown(_answer_html(answer["answer"], answer.get("language") or "fr"), unsafe_allow_html=True)
    st.markdown(_badges(answer, lang), unsafe_allow_html=True)
    if answer.get("notice"):
        st.markdown(
            f'<div class="dalil-notice" dir="auto">{html.escape(answer["notice"])}</div>',
            unsafe_allow_html=True,
        )
    render_citations(answer, lang)
