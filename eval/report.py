"""Reports: Markdown with PNG plots (metrics over time, per-language and per-kind bars), and run comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.history import History
from eval.runner import BREAKDOWNS, DEFINITIONS, HEADLINE


def plot_history(runs: list[dict[str, Any]], out: Path, metrics: tuple[str, ...] = HEADLINE[:5]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    xs = list(range(1, len(runs) + 1))
    for name in metrics:
        ys = [r["metrics"].get(name) for r in runs]
        if any(y is not None for y in ys):
            ax.plot(xs, [y if y is not None else float("nan") for y in ys], marker="o", label=name)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("run")
    ax.set_xticks(xs, [r["run_id"][4:13] for r in runs], rotation=30, fontsize=7)
    ax.set_title("Dalil evaluation — metrics over time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_breakdown(metrics: dict[str, Any], key: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = metrics.get(key, {})
    names = ["excerpt_recall@5", "source_hit@5", "refusal_accuracy", "language_match"]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    width = 0.8 / max(len(names), 1)
    labels = list(groups)
    for i, name in enumerate(names):
        vals = [groups[g].get(name) or 0.0 for g in labels]
        ax.bar([x + i * width for x in range(len(labels))], vals, width=width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Dalil evaluation — {key.replace('_', ' ')}")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(names), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "—" if v is None else str(v)


def margins_table(margins: dict[str, Any] | None) -> list[str]:
    """The refusal calibration's margins as a Markdown section (empty for runs that predate them)."""
    if not margins:
        return []
    cols = [
        "lowest_answerable",
        "highest_unanswerable",
        "answerable_margin",
        "unanswerable_margin",
        "answerable_below",
        "unanswerable_above",
    ]
    lines = [
        "",
        f"## Refusal calibration margins (threshold {_fmt(margins['threshold'])})",
        "",
        f"Signal: {margins.get('definition') or 'cosine of the question with its closest visible chunk'}. "
        "Answerable questions must stay above the threshold, unanswerable ones below it; a negative margin "
        "counts questions on the wrong side.",
        "",
        "| group | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    rows = [("all", margins["all"])]
    for key in ("by_language", "by_kind", "by_direction"):  # kind and direction: runs from this version on
        rows += [(f"{key[3:]} {name}", vals) for name, vals in margins.get(key, {}).items()]
    for name, vals in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(vals.get(c)) for c in cols) + " |")
    return lines


def metrics_table(m: dict[str, Any]) -> list[str]:
    """Headline figures first, each with its one-line definition, then the other figures."""
    skip = {*BREAKDOWNS, "refusal_margins"}

    def value(v: Any) -> str:
        return _fmt(v) if not isinstance(v, dict) else ", ".join(f"{a} {b}" for a, b in v.items())

    lines = ["| metric | value | definition |", "|---|---|---|"]
    for k in HEADLINE:
        if k in m:
            lines.append(f"| **{k}** | {value(m[k])} | {DEFINITIONS.get(k, '')} |")
    lines += ["", "Other figures:", "", "| metric | value | definition |", "|---|---|---|"]
    for k, v in m.items():
        if k not in skip and k not in HEADLINE:
            lines.append(f"| {k} | {value(v)} | {DEFINITIONS.get(k, '')} |")
    return lines


def breakdown_tables(m: dict[str, Any]) -> list[str]:
    """Every figure per language, per direction (question language -> language of the text that
    holds the answer) and per kind; follow-ups and topic switches get their own section."""
    cols = ["n", *HEADLINE, "answerable_refused", "unanswerable_refused", "span_context_recall"]
    titles = {
        "by_language": "By language of the question",
        "by_direction": "By direction (question language -> language of the answering text)",
        "by_kind": "By kind",
    }
    lines: list[str] = []
    for key in BREAKDOWNS:
        groups = m.get(key, {})
        if not groups:
            continue
        lines += [
            "",
            f"## {titles[key]}",
            "",
            "| group | " + " | ".join(cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for g, vals in groups.items():
            lines.append(f"| {g} | " + " | ".join(_fmt(vals.get(c)) for c in cols) + " |")
    turns = {k: v for k, v in m.get("by_kind", {}).items() if k in ("follow-up", "topic-switch")}
    if turns:
        lines += [
            "",
            "## Conversations",
            "",
            "Questions asked after earlier turns (their `history`): a follow-up needs the conversation, "
            "a topic switch must be searched on its own.",
            "",
            "| kind | " + " | ".join(cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for g, vals in turns.items():
            lines.append(f"| {g} | " + " | ".join(_fmt(vals.get(c)) for c in cols) + " |")
    return lines


def write_report(history: History, run_id: str, out_dir: Path) -> Path:
    run = history.get(run_id)
    if run is None:
        raise KeyError(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [r for r in history.runs(run["dataset"]) if r["ts"] <= run["ts"]]
    over_time = plot_history(runs, out_dir / f"{run['run_id']}-history.png")
    by_lang = plot_breakdown(run["metrics"], "by_language", out_dir / f"{run['run_id']}-by-language.png")
    by_kind = plot_breakdown(run["metrics"], "by_kind", out_dir / f"{run['run_id']}-by-kind.png")
    by_direction = (
        plot_breakdown(run["metrics"], "by_direction", out_dir / f"{run['run_id']}-by-direction.png")
        if run["metrics"].get("by_direction")
        else None
    )
    m = run["metrics"]
    lines = [
        f"# Dalil evaluation report — run {run['run_id']}",
        "",
        f"Dataset `{run['dataset']}` ({run['n']} questions, hash {run['dataset_hash']}), mode **{run['mode']}**, "
        f"tag {run.get('tag') or '—'}, {run['ts']}.",
        "",
        "Fingerprint: " + ", ".join(f"{k} `{v}`" for k, v in run["fingerprint"].items()),
        "",
        *metrics_table(m),
    ]
    lines += margins_table(m.get("refusal_margins"))
    lines += breakdown_tables(m)
    lines += [
        "",
        f"![metrics over time]({over_time.name})",
        "",
        f"![by language]({by_lang.name})",
        "",
        f"![by kind]({by_kind.name})",
        "",
        *([f"![by direction]({by_direction.name})", ""] if by_direction else []),
        "## Questions",
        "",
        "| id | lang | kind | direction | recall@5 | refused | answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for it in history.items(run["run_id"]):
        ans = it["answer"].replace("\n", " ").replace("|", "/")[:120]
        lines.append(
            f"| {it['id']} | {it['language']} | {it['kind']} | {it.get('direction') or '—'} "
            f"| {_fmt(it.get('excerpt_recall@5'))} | {it['refused']} | {ans} |"
        )
    path = out_dir / f"{run['run_id']}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def compare(history: History, run_a: str, run_b: str) -> dict[str, Any]:
    a, b = history.get(run_a), history.get(run_b)
    if a is None or b is None:
        raise KeyError(run_a if a is None else run_b)
    deltas = {}
    for k, va in a["metrics"].items():
        vb = b["metrics"].get(k)
        if isinstance(va, int | float) and isinstance(vb, int | float):
            deltas[k] = {"a": va, "b": vb, "delta": round(vb - va, 4)}
    items_a = {it["id"]: it for it in history.items(a["run_id"])}
    flipped = []
    for it in history.items(b["run_id"]):
        old = items_a.get(it["id"])
        if old is None:
            continue
        for field in ("refusal_correct", "language_match"):
            if old.get(field) != it.get(field):
                flipped.append({"id": it["id"], "field": field, "a": old.get(field), "b": it.get(field)})
        ra, rb = old.get("excerpt_recall@5"), it.get("excerpt_recall@5")
        if ra is not None and rb is not None and abs(ra - rb) >= 0.5:
            flipped.append({"id": it["id"], "field": "excerpt_recall@5", "a": ra, "b": rb})
    return {"a": a["run_id"], "b": b["run_id"], "deltas": deltas, "flipped": flipped}
