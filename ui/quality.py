"""Evaluators: latest results, history plots, per-question drill-down, feedback statistics."""

from __future__ import annotations

import streamlit as st

from eval.history import History
from eval.runner import HEADLINE
from ui import state
from ui.i18n import t


def quality_page() -> None:
    lang = st.session_state.lang
    st.header(t(lang, "quality"))
    settings = state.settings()
    with History(settings.eval_path) as history:
        runs = history.runs()
    if not runs:
        st.info(t(lang, "no_runs"))
    else:
        latest = runs[-1]
        st.caption(
            f"{latest['run_id']} · {latest['dataset']} · {latest['mode']} · {latest['fingerprint'].get('git_commit')}"
        )
        cols = st.columns(len(HEADLINE))
        previous = runs[-2]["metrics"] if len(runs) > 1 else {}
        for col, name in zip(cols, HEADLINE, strict=True):
            value = latest["metrics"].get(name)
            before = previous.get(name)
            delta = None if value is None or before is None else round(value - before, 3)
            col.metric(name, "—" if value is None else f"{value:.3f}", delta)
        datasets = sorted({r["dataset"] for r in runs})
        ds = st.selectbox("Dataset", datasets, index=datasets.index(latest["dataset"]), key="q_dataset")
        series = [r for r in runs if r["dataset"] == ds]
        st.subheader(t(lang, "metrics_over_time"))
        st.line_chart(
            {name: [r["metrics"].get(name) for r in series] for name in HEADLINE[:5]},
            x_label="run",
        )
        st.subheader(t(lang, "by_language"))
        by_lang = latest["metrics"].get("by_language", {})
        st.bar_chart({g: {m: v.get(m) or 0 for m in HEADLINE[:4]} for g, v in by_lang.items()}, stack=False)
        st.subheader(t(lang, "questions"))
        run_id = st.selectbox("Run", [r["run_id"] for r in reversed(series)], key="q_run")
        with History(settings.eval_path) as history:
            items = history.items(run_id)
        st.dataframe(
            [
                {
                    "id": it["id"],
                    "lang": it["language"],
                    "kind": it["kind"],
                    "recall@5": it.get("excerpt_recall@5"),
                    "refused": it["refused"],
                    "answer": it["answer"][:100],
                }
                for it in items
            ],
            use_container_width=True,
            hide_index=True,
        )
        if items:
            qid = st.selectbox("Question", [it["id"] for it in items], key="q_item")
            it = next(x for x in items if x["id"] == qid)
            st.markdown(f'<div dir="auto"><b>{it["question"]}</b></div>', unsafe_allow_html=True)
            c1, c2 = st.columns(2)
            c1.markdown(f"**{t(lang, 'expected')}**")
            c1.markdown(f'<div dir="auto">{it.get("reference_answer") or "—"}</div>', unsafe_allow_html=True)
            c2.markdown(f"**{t(lang, 'given')}**")
            c2.markdown(
                f'<div dir="auto" style="white-space:pre-wrap">{it["answer"]}</div>', unsafe_allow_html=True
            )
            st.markdown(f"**{t(lang, 'retrieved_sources')}**")
            st.dataframe(it.get("retrieved", []), use_container_width=True, hide_index=True)
    st.subheader(t(lang, "user_feedback"))
    rows = state.dalil().audit.feedback_rows()
    if not rows:
        st.caption("—")
        return
    down = [r for r in rows if r["rating"] < 0]
    c1, c2 = st.columns(2)
    c1.metric(t(lang, "negative_share"), f"{len(down) / len(rows):.0%}", help=t(lang, "ratings", n=len(rows)))
    reasons: dict[str, int] = {}
    for r in down:
        reasons[r["reason"] or "other"] = reasons.get(r["reason"] or "other", 0) + 1
    c2.bar_chart(reasons)
    by_day: dict[str, list[int]] = {}
    for r in rows:
        by_day.setdefault(r["ts"][:10], []).append(1 if r["rating"] < 0 else 0)
    st.line_chart({t(lang, "negative_share"): [sum(v) / len(v) for _, v in sorted(by_day.items())]})
