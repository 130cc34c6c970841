"""Item analysis, survey and forum summaries for instructors, computed with pandas.

Everything starts from a *long table* of responses, one row per learner and item, with the columns
``test`` (which test or activity bank the item belongs to), ``learner``, ``item``, ``score``,
``max`` and optionally ``choice`` (the option id, or a list of ids, the learner chose). The
adapters :func:`long_from_gradebook` (self-assessment tests, from nbgrader's gradebook) and
:func:`long_from_store` (practice activities, from the response store) build it.

Formulas, per test, with N learners and k items (a learner who did not answer an item counts 0 on
it for totals, correlations and alpha; the facility is over the learners who answered):

* proportion score of learner *j* on item *i*: ``p_ij = score_ij / max_ij``;
* **facility index** of item *i*: the mean of ``p_ij`` over the learners who answered it;
* **total score** ``T_j``: the sum of learner *j*'s scores on the test's items;
* **discrimination index** ``D_i = mean(p_ij, upper) - mean(p_ij, lower)``; the upper and lower
  groups are the ``n = max(1, round(0.27 N))`` learners with the highest and lowest totals
  (ties broken by learner id, so the groups are always the same);
* **point-biserial** ``r_pb``: Pearson's correlation of the item score with ``T`` (for a
  right/wrong item this is the point-biserial correlation);
* **corrected item-total correlation** ``r_it``: Pearson's correlation of the item score with
  ``T - item score`` (the item does not correlate with itself); undefined (empty) when the item or
  the rest has no variance;
* **Cronbach's alpha** ``= k / (k - 1) * (1 - sum(var(item_i)) / var(T))`` with sample variances
  (``ddof=1``); undefined for fewer than two items or learners, or no variance in ``T``;
* **flags**: ``too easy`` (facility > 0.9), ``too hard`` (facility < 0.2), ``negative
  discrimination`` (``D < 0``), ``negative item-total correlation`` (``r_it < 0``);
* **distractors**: for choice items, how many learners chose each option and their share of the
  learners who answered.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

TOO_EASY = 0.9
TOO_HARD = 0.2
GROUP_SHARE = 0.27
COLUMNS = ["test", "learner", "item", "score", "max", "choice"]
LIKERT_SCALE = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


class AnalyticsError(Exception):
    """A table cannot be analysed; the message names the column or the source."""


# ==================================================================================================
# The long table
# ==================================================================================================
def long_table(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """A validated long table: the columns of :data:`COLUMNS`, scores as floats, ``max`` > 0."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    missing = {"learner", "item", "score", "max"} - set(frame.columns)
    if missing:
        raise AnalyticsError(f"the responses table lacks the column(s): {', '.join(sorted(missing))}")
    if "test" not in frame:
        frame["test"] = "test"
    if "choice" not in frame:
        frame["choice"] = None
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    frame["max"] = pd.to_numeric(frame["max"], errors="coerce")
    frame = frame[frame["max"].gt(0) & frame["score"].notna()]
    frame = frame.astype({"test": str, "learner": str, "item": str})
    return frame[COLUMNS].reset_index(drop=True)


def _pearson(x: pd.Series, y: pd.Series) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((dx**2).sum()) * float((dy**2).sum()))
    return float((dx * dy).sum()) / denominator if denominator > 1e-12 else math.nan


def _groups(totals: pd.Series) -> tuple[list[str], list[str]]:
    """The upper and lower 27% of learners by total score (ties broken by learner id)."""
    order = sorted(totals.index, key=lambda learner: (-totals[learner], learner))
    size = max(1, round(GROUP_SHARE * len(order)))
    return order[:size], order[-size:]


def _flags(facility: float, discrimination: float, corrected: float) -> str:
    flags = []
    if facility > TOO_EASY:
        flags.append("too easy")
    if facility < TOO_HARD:
        flags.append("too hard")
    if discrimination < 0:
        flags.append("negative discrimination")
    if not math.isnan(corrected) and corrected < 0:
        flags.append("negative item-total correlation")
    return "; ".join(flags)


def item_statistics(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per test and item: facility, discrimination, r_pb, r_it, learners and flags."""
    table = long_table(responses)
    out = []
    for test, group in table.groupby("test", sort=True):
        scores = group.pivot_table(index="learner", columns="item", values="score", aggfunc="last")
        maxima = group.groupby("item")["max"].max()
        filled = scores.fillna(0.0)
        totals = filled.sum(axis=1)
        upper, lower = _groups(totals)
        share = filled / maxima
        for item in scores.columns:
            answered = group[group["item"] == item]
            facility = float((answered["score"] / answered["max"]).mean())
            discrimination = float(share.loc[upper, item].mean() - share.loc[lower, item].mean())
            corrected = _pearson(filled[item], totals - filled[item])
            out.append({
                "test": test, "item": item, "learners": int(scores[item].notna().sum()),
                "max": float(maxima[item]), "facility": facility, "discrimination": discrimination,
                "point_biserial": _pearson(filled[item], totals), "item_total": corrected,
                "flags": _flags(facility, discrimination, corrected),
            })
    return pd.DataFrame(out, columns=["test", "item", "learners", "max", "facility", "discrimination",
                                      "point_biserial", "item_total", "flags"])


def cronbach_alpha(responses: pd.DataFrame) -> pd.DataFrame:
    """Cronbach's alpha per test, with the number of items and learners it is computed from."""
    table = long_table(responses)
    out = []
    for test, group in table.groupby("test", sort=True):
        scores = group.pivot_table(index="learner", columns="item", values="score",
                                   aggfunc="last").fillna(0.0)
        k, n = scores.shape[1], scores.shape[0]
        alpha = math.nan
        if k >= 2 and n >= 2:
            total_var = float(scores.sum(axis=1).var(ddof=1))
            if total_var > 1e-12:
                alpha = k / (k - 1) * (1 - float(scores.var(ddof=1).sum()) / total_var)
        out.append({"test": test, "items": k, "learners": n, "alpha": alpha})
    return pd.DataFrame(out, columns=["test", "items", "learners", "alpha"])


def distractors(responses: pd.DataFrame) -> pd.DataFrame:
    """For every choice item: each option, how many learners chose it, and their share."""
    table = long_table(responses)
    rows = []
    for (test, item), group in table.groupby(["test", "item"], sort=True):
        chosen = [c for c in group["choice"]
                  if c is not None and not (isinstance(c, float) and math.isnan(c))]
        if not chosen:
            continue
        counts: dict[str, int] = {}
        for choice in chosen:
            for option in (choice if isinstance(choice, list | tuple) else [choice]):
                counts[str(option)] = counts.get(str(option), 0) + 1
        for option in sorted(counts):
            rows.append({"test": test, "item": item, "option": option, "count": counts[option],
                         "share": counts[option] / len(chosen)})
    return pd.DataFrame(rows, columns=["test", "item", "option", "count", "share"])


# ==================================================================================================
# Adapters: where the long table comes from
# ==================================================================================================
def long_from_store(store: Any, *, kinds: Iterable[str] = ("multiple_choice",)) -> pd.DataFrame:
    """Practice activities from the response store: one row per learner and scored activity.

    The test is the activity bank (the part of the key before ``/``); for multiple-choice items
    the chosen option ids come from the saved state's ``selected``.
    """
    from sqlalchemy import select

    from se4u.store import responses

    query = select(responses).where(responses.c.kind.in_(list(kinds)),
                                    responses.c.max_score.is_not(None), responses.c.score.is_not(None))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        try:
            state = json.loads(row.state)
        except (TypeError, ValueError):
            state = {}
        selected = state.get("selected") if isinstance(state, dict) else None
        bank, _, item = row.activity.partition("/")
        out.append({"test": bank, "learner": row.learner, "item": item or bank, "score": row.score,
                    "max": row.max_score,
                    "choice": [str(s) for s in selected] if isinstance(selected, list) else None})
    return long_table(out)


def long_from_gradebook(url: str) -> pd.DataFrame:
    """Self-assessment items from nbgrader's gradebook: one row per learner and graded cell."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return long_table([])
    from nbgrader.api import Gradebook

    rows = []
    try:
        with Gradebook(url) as gb:
            for assignment in gb.assignments:
                for submission in gb.assignment_submissions(assignment.name):
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            if grade.max_score and grade.score is not None:
                                rows.append({"test": assignment.name, "learner": submission.student.id,
                                             "item": grade.name, "score": grade.score,
                                             "max": grade.max_score, "choice": None})
    except Exception as exc:  # nbgrader raises many kinds; the instructor needs one line
        raise AnalyticsError(f"the gradebook at {url} cannot be read: {exc}") from None
    return long_table(rows)


# ==================================================================================================
# Exit survey and forum
# ==================================================================================================
def survey_answers(store: Any, bank: str = "exit_survey") -> pd.DataFrame:
    """Every saved answer of the survey bank: learner, item, kind, value, label."""
    from sqlalchemy import select

    from se4u.store import responses

    query = select(responses).where(responses.c.activity.startswith(f"{bank}/", autoescape=True))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        try:
            state = json.loads(row.state)
        except (TypeError, ValueError):
            continue
        if not isinstance(state, dict):
            continue
        out.append({"learner": row.learner, "item": row.activity.split("/", 1)[1], "kind": row.kind,
                    "value": state.get("value"), "label": state.get("label")})
    return pd.DataFrame(out, columns=["learner", "item", "kind", "value", "label"])


def likert_distribution(answers: pd.DataFrame, scale: list[str] = LIKERT_SCALE) -> pd.DataFrame:
    """Per Likert item (``moduleN-useful`` …): how many learners chose each point of the scale."""
    likert = answers[answers["kind"] == "likert"] if not answers.empty else answers
    rows = []
    for item, group in likert.groupby("item", sort=True):
        values = [v for v in group["value"] if isinstance(v, int | float) and 0 <= v < len(scale)]
        row: dict[str, Any] = {"item": item, "answers": len(values)}
        row.update({label: sum(1 for v in values if int(v) == i) for i, label in enumerate(scale)})
        row["mean (1-5)"] = (sum(values) / len(values) + 1) if values else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["item", "answers", *scale, "mean (1-5)"])


def hours_reported(answers: pd.DataFrame, course: Any = None) -> pd.DataFrame:
    """Per course part: the planned hours (course.yaml) and the hours learners report (mean, median)."""
    from se4u.course import load_course

    course = course or load_course()
    rows = []
    for part in course.parts:
        given = answers[(answers["item"] == f"hours-{part.id}")]["value"] if not answers.empty else []
        values = [float(v) for v in given if isinstance(v, int | float)]
        rows.append({"part": part.title, "planned hours": part.minutes / 60, "answers": len(values),
                     "reported mean": sum(values) / len(values) if values else math.nan,
                     "reported median": float(pd.Series(values).median()) if values else math.nan})
    return pd.DataFrame(rows, columns=["part", "planned hours", "answers", "reported mean",
                                       "reported median"])


def comments(answers: pd.DataFrame) -> pd.DataFrame:
    """The free-text answers, one per row (learner, question, comment), as typed."""
    if answers.empty:
        return pd.DataFrame(columns=["learner", "item", "comment"])
    text = answers[(answers["kind"] == "free_text") & answers["value"].map(
        lambda v: isinstance(v, str) and bool(v.strip()))]
    return text.rename(columns={"value": "comment"})[["learner", "item", "comment"]].reset_index(drop=True)


def forum_participation(counts: Mapping[str, Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forum counts (learner → {thread or module: ForumCount}) as per-learner and per-thread tables."""
    rows = [{"learner": learner, "thread": thread, "posts": int(getattr(c, "posts", 0)),
             "replies": int(getattr(c, "replies", 0))}
            for learner, threads in counts.items() for thread, c in threads.items()]
    frame = pd.DataFrame(rows, columns=["learner", "thread", "posts", "replies"])
    per_learner = frame.groupby("learner", as_index=False)[["posts", "replies"]].sum()
    per_thread = frame.groupby("thread", as_index=False).agg(
        learners=("learner", "nunique"), posts=("posts", "sum"), replies=("replies", "sum"))
    return per_learner, per_thread


# ==================================================================================================
# HTML for the dashboard: tables with a CSV download, bar charts drawn with CSS
# ==================================================================================================
def csv_link(frame: pd.DataFrame, filename: str) -> str:
    """A link that downloads the table as CSV (a data: URL, so no server is needed)."""
    data = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    return (f"<a class='se4u-csv' download='{html.escape(filename)}' "
            f"href='data:text/csv;charset=utf-8;base64,{data}'>Download {html.escape(filename)}</a>")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return html.escape(str(value))


def table_html(frame: pd.DataFrame, caption: str, filename: str) -> str:
    """An escaped HTML table with a caption and its CSV download link; flagged rows stand out."""
    if frame.empty:
        return (f"<section class='se4u-dash-table'><h3>{html.escape(caption)}</h3>"
                "<p>No data yet.</p></section>")
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        flagged = " class='se4u-flagged'" if str(row.get("flags", "") or "") else ""
        body.append(f"<tr{flagged}>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
    return (f"<section class='se4u-dash-table'><h3>{html.escape(caption)}</h3>"
            f"<div class='se4u-scroll' tabindex='0' role='region' aria-label='{html.escape(caption)}'>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
            f"<p>{csv_link(frame, filename)}</p></section>")


def bars_html(values: Mapping[str, float], caption: str, *, maximum: float | None = None,
              unit: str = "") -> str:
    """A bar chart as a table: every bar has its number written beside it (screen readers read it)."""
    known = [v for v in values.values() if not math.isnan(v)]
    top = maximum if maximum and not math.isnan(maximum) else max(known or [1.0]) or 1.0
    rows = []
    for label, value in values.items():
        width = 0 if math.isnan(value) else max(0.0, min(100.0, value / top * 100))
        shown = "–" if math.isnan(value) else f"{value:.3g}{unit}"
        rows.append(f"<tr><th scope='row'>{html.escape(label)}</th><td>{html.escape(shown)}</td>"
                    f"<td class='se4u-bar-cell' aria-hidden='true'><span class='se4u-bar' "
                    f"style='width:{width:.0f}%'></span></td></tr>")
    return (f"<table class='se4u-bars'><caption>{html.escape(caption)}</caption><thead><tr>"
            "<th scope='col'>What</th><th scope='col'>Value</th><th scope='col'>Chart</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


DASHBOARD_CSS = """<style>
.se4u-dash { font-family: var(--jp-ui-font-family); color: var(--jp-content-font-color1); }
.se4u-dash table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
.jp-RenderedHTMLCommon .se4u-dash th, .jp-RenderedHTMLCommon .se4u-dash td, .se4u-dash th, .se4u-dash td {
  border: 1px solid var(--jp-border-color2); padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
.se4u-dash thead th { background: var(--jp-layout-color2); }
.se4u-dash caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
.se4u-dash .se4u-scroll { max-width: 100%; overflow-x: auto; }
.se4u-dash .se4u-flagged td { background: color-mix(in srgb, var(--jp-warn-color1, #b26a00) 22%, transparent);
  color: inherit; font-weight: 600; }
.jp-RenderedHTMLCommon .se4u-dash .se4u-bars, .se4u-dash .se4u-bars { width: 100%; max-width: 40rem; }
.se4u-dash .se4u-bar-cell { width: 50%; }
.se4u-dash .se4u-bar { display: block; height: 0.9rem; background: var(--jp-brand-color1);
  forced-color-adjust: none; }
.se4u-dash .se4u-csv { color: var(--jp-content-link-color); }
.se4u-dash .se4u-figures { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; padding: 0; }
.se4u-dash .se4u-figures li { border: 1px solid var(--jp-border-color2); padding: 0.5rem 0.8rem;
  background: var(--jp-layout-color1); }
.se4u-dash .se4u-figures strong { display: block; font-size: 1.4rem; }
</style>"""


# ==================================================================================================
# The instructor dashboard (notebooks/instructor.md)
# ==================================================================================================
def _setting(env_name: str, key: str) -> str | None:
    import os

    from se4u.config import _read_config

    value = os.environ.get(env_name) or _read_config().get(key)
    return str(value) if value else None


def cohort_learners(store: Any) -> list[str]:
    """The cohort: the roster's ids when one is configured (``$SE4U_ROSTER``/``roster``), else every
    learner with a saved answer."""
    from sqlalchemy import select

    from se4u.completion import read_roster
    from se4u.store import responses

    roster = _setting("SE4U_ROSTER", "roster")
    if roster:
        return [learner.id for learner in read_roster(Path(roster))]
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(responses.c.learner).distinct()).scalars())


def active_since(store: Any, since: Any) -> set[str]:
    """Learners who saved anything since this moment (from the store's event log)."""
    from sqlalchemy import select

    from se4u.store import events

    with store.engine.connect() as conn:
        return set(conn.execute(select(events.c.learner).distinct().where(events.c.created_at >= since))
                   .scalars())


def module_funnel(store: Any, learners: list[str]) -> pd.DataFrame:
    """Per module: learners who started it, read every section, did every practice activity."""
    from se4u.progress import course_progress

    counts: dict[str, dict[str, Any]] = {}
    for learner in learners:
        for part in course_progress(store, learner):
            if not part.part_id.startswith("module"):
                continue
            row = counts.setdefault(part.part_id, {"module": part.title, "enrolled": len(learners),
                                                   "started": 0, "all readings": 0, "all activities": 0})
            row["started"] += bool(part.readings_done or part.activities_done)
            row["all readings"] += part.readings_done == part.readings_total
            row["all activities"] += part.activities_done == part.activities_total
    return pd.DataFrame(list(counts.values()),
                        columns=["module", "enrolled", "started", "all readings", "all activities"])


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _guarded(title: str, build: Any) -> str:
    """A dashboard section, or a one-line message naming what could not be read."""
    try:
        return _section(title, build())
    except Exception as exc:  # any failing source must leave the rest of the dashboard usable
        reason = html.escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return _section(title, "<p role='alert' class='se4u-problem'>This part cannot be shown: "
                               f"{reason}</p>")


def dashboard_html(store: Any, *, gradebook: str | None = None, forum: Mapping[str, Any] | None = None,
                   now: Any = None) -> str:
    """The whole dashboard: cohort overview, item analysis, survey and forum, every table as CSV."""
    from datetime import UTC, datetime, timedelta

    now = now or datetime.now(UTC)
    learners = cohort_learners(store)

    def overview() -> str:
        active = active_since(store, now - timedelta(days=7)) & set(learners)
        figures = (f"<ul class='se4u-figures'><li><strong>{len(learners)}</strong>enrolled</li>"
                   f"<li><strong>{len(active)}</strong>active in the last 7 days</li></ul>")
        funnel = module_funnel(store, learners)
        chart = bars_html({str(r["module"]).split(":")[0]: float(r["all readings"]) for _, r in
                           funnel.iterrows()}, "Learners who read every section, per module",
                          maximum=max(len(learners), 1))
        return figures + chart + table_html(funnel, "Completion funnel by module", "funnel.csv")

    def items() -> str:
        parts = [long_from_store(store)]
        if gradebook:
            parts.append(long_from_gradebook(gradebook))
        table = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(
            not p.empty for p in parts) else long_table([])
        if table.empty:
            return "<p>No scored answers yet.</p>"
        return (table_html(item_statistics(table), "Items (flagged rows are highlighted)", "items.csv")
                + table_html(cronbach_alpha(table), "Cronbach's alpha per test", "alpha.csv")
                + table_html(distractors(table), "Options chosen in choice items", "distractors.csv"))

    answers = survey_answers(store)

    def survey() -> str:
        likert = likert_distribution(answers)
        hours = hours_reported(answers)
        chart = bars_html({r["item"]: r["mean (1-5)"] for _, r in likert.iterrows()},
                          "Mean agreement (1 = strongly disagree, 5 = strongly agree)", maximum=5)
        top = max(hours["planned hours"].max(), hours["reported mean"].max(skipna=True) or 0)
        time_chart = "".join(
            bars_html({"planned": r["planned hours"], "reported (mean)": r["reported mean"]},
                      f"{r['part'].split(':')[0]}: hours", maximum=top, unit=" h")
            for _, r in hours.iterrows())
        return (chart + table_html(likert, "Likert answers per item", "likert.csv")
                + "<h3>Time spent against the planned workload</h3>" + time_chart
                + table_html(hours, "Hours per part: planned and reported", "hours.csv")
                + table_html(comments(answers), "Comments", "comments.csv"))

    def forum_part() -> str:
        if forum is None:
            return ("<p>Forum participation is not recorded yet (set <code>SE4U_FORUM_COUNTS</code> or "
                    "<code>forum_counts</code> in the config file to a CSV of learner, module, posts, "
                    "replies).</p>")
        per_learner, per_thread = forum_participation(forum)
        return (table_html(per_learner, "Forum participation per learner", "forum-learners.csv")
                + table_html(per_thread, "Forum participation per thread", "forum-threads.csv"))

    body = "".join([_guarded("Cohort overview", overview), _guarded("Item analysis", items),
                    _guarded("Exit survey", survey), _guarded("Discussion forum", forum_part)])
    return f"{DASHBOARD_CSS}<div class='se4u-dash'>{body}</div>"


def instructor_dashboard() -> Any:
    """The instructors' page: refused with a clear message for anyone who is not an instructor."""
    from IPython.display import HTML

    from se4u.activity import learner_arrived
    from se4u.completion import gradebook_url, read_forum_counts
    from se4u.config import REPO_DIR, ConfigError
    from se4u.notebook import problem
    from se4u.roles import current_role, refusal_html
    from se4u.store import StoreError, default_store

    learner_arrived()  # in a preheated kernel, decide for the user who actually asked
    try:
        role = current_role()
        if not role.instructor:
            return HTML(refusal_html(role))
        course = Path(_setting("SE4U_COURSE", "course") or REPO_DIR)
        counts_file = _setting("SE4U_FORUM_COUNTS", "forum_counts")
        forum = read_forum_counts(Path(counts_file)) if counts_file else None
        return HTML(dashboard_html(default_store(), gradebook=gradebook_url(course), forum=forum))
    except (ConfigError, StoreError, AnalyticsError) as exc:
        return problem(str(exc))
    except Exception as exc:  # the completion module's errors and any unreadable input
        return problem(f"the dashboard cannot be shown: {exc}")
