"""Evaluators: latest results, history plots, per-question drill-down, feedback statistics."""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import streamlit as st

from assistant.modes import Role
from eval.history import History
from eval.runner import HEADLINE
from ui import state
from ui.access import require
from ui.i18n import REASON_CODES, strings, t


def metric_name(lang: str, name: str) -> str:
    """A metric's name in the interface language (`excerpt_recall@5` -> "Rappel des extraits @5")."""
    return t(lang, "metric_" + name.replace("@", "_at_"))


def _chart(rows: list[dict[str, Any]], x: str, x_title: str, lang: str, kind: str) -> alt.Chart:
    """A chart whose axis labels and legend fit Arabic and French names: no label truncation, the
    legend under the plot, titles in the interface language."""
    data = alt.Data(values=rows)
    base = alt.Chart(data)
    color = alt.Color(
        "metric:N",
        title=None,
        legend=alt.Legend(orient="bottom", labelLimit=0, columns=2, symbolLimit=0),
    )
    y = alt.Y("value:Q", title=t(lang, "score"), scale=alt.Scale(domain=[0, 1]))
    if kind == "line":
        chart = base.mark_line(point=True).encode(
            x=alt.X(f"{x}:O", title=x_title, axis=alt.Axis(labelLimit=0, labelAngle=0)), y=y, color=color
        )
    else:
        chart = base.mark_bar().encode(
            x=alt.X(f"{x}:N", title=x_title, axis=alt.Axis(labelLimit=0, labelAngle=0)),
            xOffset="metric:N",
            y=y,
            color=color,
        )
    # SVG rather than canvas: text drawn as text (selectable, and Arabic shaped by the browser)
    return chart.properties(
        height=320,
        padding={"left": 10, "right": 30, "top": 10, "bottom": 10},
        usermeta={"embedOptions": {"renderer": "svg"}},
    )


def quality_page() -> None:
    lang = st.session_state.lang
    st.header(t(lang, "quality"))
    if not require(Role.EVALUATOR, lang):
        return
    settings = state.settings()
    with History(settings.eval_path) as history:
        runs = history.runs()
    if not runs:
        st.info(t(lang, "no_runs"))
    else:
        _runs(runs, lang)
    _feedback(lang)


def _runs(runs: list[dict[str, Any]], lang: str) -> None:
    settings = state.settings()
    latest = runs[-1]
    st.caption(
        f"<bdi>{html.escape(latest['run_id'])}</bdi> · <bdi>{html.escape(str(latest['dataset']))}</bdi> · "
        f"{html.escape(t(lang, 'mode_' + str(latest['mode'])) if latest['mode'] in ('llm', 'extractive') else str(latest['mode']))}"
        f" · <bdi>{html.escape(str(latest['fingerprint'].get('git_commit')))}</bdi>",
        unsafe_allow_html=True,
    )
    cols = st.columns(4)
    previous = runs[-2]["metrics"] if len(runs) > 1 else {}
    for i, name in enumerate(HEADLINE):
        value = latest["metrics"].get(name)
        before = previous.get(name)
        delta = None if value is None or before is None else round(value - before, 3)
        cols[i % 4].metric(metric_name(lang, name), "—" if value is None else f"{value:.3f}", delta)
    datasets = sorted({r["dataset"] for r in runs})
    ds = st.selectbox(t(lang, "dataset"), datasets, index=datasets.index(latest["dataset"]), key="q_dataset")
    series = [r for r in runs if r["dataset"] == ds]
    st.subheader(t(lang, "metrics_over_time"))
    if len(series) < 2:
        st.caption(t(lang, "one_run"))
    else:
        rows = [
            {"run": i + 1, "metric": metric_name(lang, name), "value": r["metrics"].get(name)}
            for i, r in enumerate(series)
            for name in HEADLINE[:5]
            if r["metrics"].get(name) is not None
        ]
        st.altair_chart(_chart(rows, "run", t(lang, "run"), lang, "line"), use_container_width=True)
    st.subheader(t(lang, "by_language"))
    by_lang = latest["metrics"].get("by_language", {})
    rows = [
        {
            "group": t(lang, "lang_" + g) if g in ("fr", "ar", "en") else g,
            "metric": metric_name(lang, m),
            "value": v.get(m) or 0,
        }
        for g, v in by_lang.items()
        for m in HEADLINE[:4]
    ]
    if rows:
        st.altair_chart(_chart(rows, "group", t(lang, "col_language"), lang, "bar"), use_container_width=True)
    st.subheader(t(lang, "questions"))
    run_id = st.selectbox(t(lang, "run"), [r["run_id"] for r in reversed(series)], key="q_run")
    with History(settings.eval_path) as history:
        items = history.items(run_id)
    st.dataframe(
        [
            {
                t(lang, "col_id"): it["id"],
                t(lang, "col_language"): it["language"],
                t(lang, "col_kind"): it["kind"],
                metric_name(lang, "excerpt_recall@5"): it.get("excerpt_recall@5"),
                t(lang, "refused"): t(lang, "word_yes") if it["refused"] else t(lang, "word_no"),
                t(lang, "given"): it["answer"][:100],
            }
            for it in items
        ],
        use_container_width=True,
        hide_index=True,
    )
    if items:
        qid = st.selectbox(t(lang, "question"), [it["id"] for it in items], key="q_item")
        it = next(x for x in items if x["id"] == qid)
        st.markdown(f'<div dir="auto"><b>{html.escape(it["question"])}</b></div>', unsafe_allow_html=True)
        c1, c2 = st.columns(2)
        c1.markdown(f"**{t(lang, 'expected')}**")
        c1.markdown(
            f'<div dir="auto">{html.escape(it.get("reference_answer") or "—")}</div>', unsafe_allow_html=True
        )
        c2.markdown(f"**{t(lang, 'given')}**")
        c2.markdown(
            f'<div dir="auto" style="white-space:pre-wrap">{html.escape(it["answer"])}</div>',
            unsafe_allow_html=True,
        )
        st.markdown(f"**{t(lang, 'retrieved_sources')}**")
        retrieved = it.get("retrieved", [])
        st.dataframe(
            [
                {(t(lang, f"col_{k}") if f"col_{k}" in strings() else k): v for k, v in r.items()}
                for r in retrieved
            ]
            if retrieved and isinstance(retrieved[0], dict)
            else retrieved,
            use_container_width=True,
            hide_index=True,
        )


def _feedback(lang: str) -> None:
    st.subheader(t(lang, "user_feedback"))
    rows = state.audit().feedback_rows()
    if not rows:
        st.caption(t(lang, "no_feedback"))
        return
    down = [r for r in rows if r["rating"] < 0]
    c1, c2 = st.columns(2)
    c1.metric(t(lang, "negative_share"), f"{len(down) / len(rows):.0%}", help=t(lang, "ratings", n=len(rows)))
    labels = dict(zip(REASON_CODES, t(lang, "reasons").split("|"), strict=True))
    reasons: dict[str, int] = {}
    for r in down:
        label = labels.get(r["reason"] or "other", labels["other"])
        reasons[label] = reasons.get(label, 0) + 1
    if reasons:
        c2.altair_chart(
            alt.Chart(alt.Data(values=[{"reason": k, "n": v} for k, v in reasons.items()]))
            .mark_bar()
            .encode(
                y=alt.Y("reason:N", title=None, axis=alt.Axis(labelLimit=0)),
                x=alt.X("n:Q", title=t(lang, "count"), axis=alt.Axis(tickMinStep=1)),
            ),
            use_container_width=True,
        )
    by_day: dict[str, list[int]] = {}
    for r in rows:
        by_day.setdefault(r["ts"][:10], []).append(1 if r["rating"] < 0 else 0)
    if len(by_day) > 1:
        st.altair_chart(
            alt.Chart(
                alt.Data(values=[{"day": d, "share": sum(v) / len(v)} for d, v in sorted(by_day.items())])
            )
            .mark_line(point=True)
            .encode(
                x=alt.X("day:O", title=t(lang, "day"), axis=alt.Axis(labelAngle=0, labelLimit=0)),
                y=alt.Y("share:Q", title=t(lang, "negative_share"), axis=alt.Axis(format="%")),
            ),
            use_container_width=True,
        )
