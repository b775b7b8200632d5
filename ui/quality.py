"""Evaluators: latest results, history plots, per-question drill-down, feedback statistics."""

from __future__ import annotations

import streamlit as st

from eval.history import History
from eval.runner import HEADLINE
from ui import state
from ui.i18n import t

LABELS = {
    "fr": [
        "Évolution des métriques",
        "Par langue",
        "Questions",
        "Attendu",
        "Donné",
        "Sources retrouvées",
        "Avis des utilisateurs",
        "part des avis négatifs",
    ],
    "ar": [
        "تطور المؤشرات",
        "حسب اللغة",
        "الأسئلة",
        "المتوقع",
        "المقدم",
        "المصادر المسترجعة",
        "آراء المستخدمين",
        "نسبة الآراء السلبية",
    ],
    "en": [
        "Metrics over time",
        "By language",
        "Questions",
        "Expected",
        "Given",
        "Retrieved sources",
        "User feedback",
        "negative feedback rate",
    ],
}


def _l(lang: str, i: int) -> str:
    return LABELS.get(lang, LABELS["fr"])[i]


def quality_page() -> None:
    lang = st.session_state.lang
    st.header(t(lang, "quality"))
    settings = state.settings()
    history = History(settings.eval_path)
    runs = history.runs()
    if not runs:
        st.info("`dalil eval run --dataset …`")
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
        st.subheader(_l(lang, 0))
        st.line_chart(
            {name: [r["metrics"].get(name) for r in series] for name in HEADLINE[:5]},
            x_label="run",
        )
        st.subheader(_l(lang, 1))
        by_lang = latest["metrics"].get("by_language", {})
        st.bar_chart({g: {m: v.get(m) or 0 for m in HEADLINE[:4]} for g, v in by_lang.items()}, stack=False)
        st.subheader(_l(lang, 2))
        run_id = st.selectbox("Run", [r["run_id"] for r in reversed(series)], key="q_run")
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
            c1.markdown(f"**{_l(lang, 3)}**")
            c1.markdown(f'<div dir="auto">{it.get("reference_answer") or "—"}</div>', unsafe_allow_html=True)
            c2.markdown(f"**{_l(lang, 4)}**")
            c2.markdown(
                f'<div dir="auto" style="white-space:pre-wrap">{it["answer"]}</div>', unsafe_allow_html=True
            )
            st.markdown(f"**{_l(lang, 5)}**")
            st.dataframe(it.get("retrieved", []), use_container_width=True, hide_index=True)
    st.subheader(_l(lang, 6))
    rows = state.dalil().audit.feedback_rows()
    if not rows:
        st.caption("—")
        return
    down = [r for r in rows if r["rating"] < 0]
    c1, c2 = st.columns(2)
    c1.metric(_l(lang, 7), f"{len(down) / len(rows):.0%}", help=f"{len(rows)} ratings")
    reasons: dict[str, int] = {}
    for r in down:
        reasons[r["reason"] or "other"] = reasons.get(r["reason"] or "other", 0) + 1
    c2.bar_chart(reasons)
    by_day: dict[str, list[int]] = {}
    for r in rows:
        by_day.setdefault(r["ts"][:10], []).append(1 if r["rating"] < 0 else 0)
    st.line_chart({_l(lang, 7): [sum(v) / len(v) for _, v in sorted(by_day.items())]})
