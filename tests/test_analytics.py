"""Item analysis against a small fixture whose figures were worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from se4u.analytics import (
    cronbach_alpha,
    distractors,
    forum_participation,
    item_statistics,
    likert_distribution,
    long_from_store,
    long_table,
    survey_answers,
    table_html,
)
from se4u.completion import ForumCount

# Five learners, five items of one test. q1..q3 and q5 are worth 1 point, q4 is worth 2.
#
#        q1  q2  q3  q4  q5 | total T
#   L1    1   1   0   2   0 |  4   (the upper 27%: round(0.27 * 5) = 1 learner)
#   L2    1   1   0   1   0 |  3
#   L3    1   1   1   0   0 |  3
#   L4    1   1   0   1   0 |  3
#   L5    1   0   1   0   0 |  2   (the lower 27%)
#
# mean T = 15 / 5 = 3; deviations (1, 0, 0, 0, -1); sum of squares 2; sample var(T) = 2 / 4 = 0.5
SCORES = {
    "L1": (1, 1, 0, 2, 0),
    "L2": (1, 1, 0, 1, 0),
    "L3": (1, 1, 1, 0, 0),
    "L4": (1, 1, 0, 1, 0),
    "L5": (1, 0, 1, 0, 0),
}
MAXIMA = (1, 1, 1, 2, 1)
# q2 (key b) and q3 (key c) are multiple-choice items; what each learner chose:
CHOICES = {"q2": {"L1": "b", "L2": "b", "L3": "b", "L4": "b", "L5": "a"},
           "q3": {"L1": "a", "L2": "b", "L3": "c", "L4": "a", "L5": "c"}}


@pytest.fixture
def responses() -> pd.DataFrame:
    rows = []
    for learner, scores in SCORES.items():
        for n, (score, top) in enumerate(zip(scores, MAXIMA, strict=True), start=1):
            item = f"q{n}"
            rows.append({"test": "module1", "learner": learner, "item": item, "score": score,
                         "max": top, "choice": CHOICES.get(item, {}).get(learner)})
    return pd.DataFrame(rows)


def stats(responses: pd.DataFrame) -> pd.DataFrame:
    return item_statistics(responses).set_index("item")


def test_facility_is_mean_score_over_max(responses):
    """Is the facility the mean proportion score of each item?"""
    facility = stats(responses)["facility"]
    assert facility["q1"] == pytest.approx(1.0)  # 5 / 5
    assert facility["q2"] == pytest.approx(0.8)  # 4 / 5
    assert facility["q3"] == pytest.approx(0.4)  # 2 / 5
    assert facility["q4"] == pytest.approx(0.4)  # (2 + 1 + 0 + 1 + 0) / 5 = 0.8 points, / 2 max
    assert facility["q5"] == pytest.approx(0.0)  # 0 / 5


def test_discrimination_index_compares_upper_and_lower_groups(responses):
    """Is D the upper group's mean proportion minus the lower group's (L1 vs L5)?"""
    d = stats(responses)["discrimination"]
    assert d["q1"] == pytest.approx(0.0)   # 1 - 1
    assert d["q2"] == pytest.approx(1.0)   # 1 - 0
    assert d["q3"] == pytest.approx(-1.0)  # 0 - 1
    assert d["q4"] == pytest.approx(1.0)   # 2/2 - 0/2
    assert d["q5"] == pytest.approx(0.0)   # 0 - 0


def test_point_biserial_correlates_item_with_total(responses):
    """Is r_pb Pearson's r of the item score with the total?"""
    r = stats(responses)["point_biserial"]
    # q2 = (1,1,1,1,0), mean 0.8, deviations (.2,.2,.2,.2,-.8), sum sq 0.8;
    # cross products with T's deviations: .2*1 + (-.8)*(-1) = 1.0;  r = 1 / sqrt(0.8 * 2) = 0.790569
    assert r["q2"] == pytest.approx(0.790569, abs=1e-6)
    # q3 = (0,0,1,0,1), mean 0.4, deviations (-.4,-.4,.6,-.4,.6), sum sq 1.2;
    # cross products: -.4*1 + .6*(-1) = -1.0;  r = -1 / sqrt(1.2 * 2) = -0.645497
    assert r["q3"] == pytest.approx(-0.645497, abs=1e-6)
    # q4 = (2,1,0,1,0), mean 0.8, deviations (1.2,.2,-.8,.2,-.8), sum sq 2.8;
    # cross products: 1.2*1 + (-.8)*(-1) = 2.0;  r = 2 / sqrt(2.8 * 2) = 0.845154
    assert r["q4"] == pytest.approx(0.845154, abs=1e-6)
    # q1 and q5 do not vary: r is undefined
    assert math.isnan(r["q1"]) and math.isnan(r["q5"])


def test_corrected_item_total_leaves_the_item_out(responses):
    """Is r_it Pearson's r of the item with the total of the other items?"""
    r = stats(responses)["item_total"]
    # q2: rest = T - q2 = (3,2,2,2,2), mean 2.2, deviations (.8,-.2,-.2,-.2,-.2), sum sq 0.8;
    # cross products with q2's deviations: .16 - .04 - .04 - .04 + .16 = 0.2;  r = 0.2 / 0.8 = 0.25
    assert r["q2"] == pytest.approx(0.25)
    # q3: rest = (4,3,2,3,1), mean 2.6, deviations (1.4,.4,-.6,.4,-1.6), sum sq 5.2;
    # cross products: -.56 - .16 - .36 - .16 - .96 = -2.2;  r = -2.2 / sqrt(1.2 * 5.2) = -0.880705
    assert r["q3"] == pytest.approx(-0.880705, abs=1e-6)
    # q4: rest = (2,2,3,2,2), mean 2.2, deviations (-.2,-.2,.8,-.2,-.2), sum sq 0.8;
    # cross products: -.24 - .04 - .64 - .04 + .16 = -0.8;  r = -0.8 / sqrt(2.8 * 0.8) = -0.534522
    assert r["q4"] == pytest.approx(-0.534522, abs=1e-6)


def test_flags(responses):
    """Are too easy, too hard and negative discrimination flagged, and nothing else?"""
    flags = stats(responses)["flags"]
    assert flags["q1"] == "too easy"                       # 1.0 > 0.9
    assert flags["q2"] == ""
    assert flags["q3"] == "negative discrimination; negative item-total correlation"
    assert flags["q4"] == "negative item-total correlation"  # D > 0 but r_it < 0
    assert flags["q5"] == "too hard"                       # 0.0 < 0.2


def test_cronbach_alpha(responses):
    """Is alpha k/(k-1) * (1 - sum of item variances / variance of totals)?"""
    # item sample variances: q1 0, q2 0.8/4 = 0.2, q3 1.2/4 = 0.3, q4 2.8/4 = 0.7, q5 0 -> sum 1.2
    # alpha = 5/4 * (1 - 1.2 / 0.5) = 1.25 * (-1.4) = -1.75 (a test whose items disagree)
    row = cronbach_alpha(responses).iloc[0]
    assert (row["items"], row["learners"]) == (5, 5)
    assert row["alpha"] == pytest.approx(-1.75)


def test_cronbach_alpha_of_consistent_items():
    """Do two identical items give alpha 1?"""
    rows = [{"learner": f"L{i}", "item": item, "score": s, "max": 1}
            for i, s in enumerate((0, 1, 1, 0)) for item in ("a", "b")]
    # var(a) = var(b) = 1/3; T = 2a, var(T) = 4/3; alpha = 2 * (1 - (2/3) / (4/3)) = 1
    assert cronbach_alpha(pd.DataFrame(rows)).iloc[0]["alpha"] == pytest.approx(1.0)


def test_distractor_frequencies(responses):
    """Does each option of a choice item show how many learners chose it?"""
    table = distractors(responses).set_index(["item", "option"])
    assert table.loc[("q3", "a"), "count"] == 2 and table.loc[("q3", "a"), "share"] == pytest.approx(0.4)
    assert table.loc[("q3", "b"), "count"] == 1
    assert table.loc[("q3", "c"), "count"] == 2
    assert table.loc[("q2", "a"), "count"] == 1 and table.loc[("q2", "b"), "count"] == 4
    assert "q1" not in table.index.get_level_values("item")


def test_long_table_names_missing_columns():
    """Does a table without scores say which column is missing?"""
    from se4u.analytics import AnalyticsError

    with pytest.raises(AnalyticsError, match="score"):
        long_table([{"learner": "a", "item": "q", "max": 1}])


def test_store_adapter_reads_choice_states(store):
    """Do practice multiple-choice answers become rows with the selected options?"""
    store.save("ana", "module1_quiz/q1", "multiple_choice", {"selected": ["o2"]}, score=1, max_score=1)
    store.save("ben", "module1_quiz/q1", "multiple_choice", {"selected": ["o1", "o3"]}, score=0,
               max_score=1)
    store.save("ben", "module1/read", "reading", {"read": True})
    table = long_from_store(store)
    assert sorted(table["learner"]) == ["ana", "ben"]
    assert set(table["test"]) == {"module1_quiz"} and set(table["item"]) == {"q1"}
    counts = distractors(table).set_index("option")["count"].to_dict()
    assert counts == {"o1": 1, "o2": 1, "o3": 1}


def test_survey_and_forum_summaries(store):
    """Are Likert answers counted per point, and forum counts summed per learner and thread?"""
    store.save("ana", "exit_survey/module1-useful", "likert", {"value": 4, "label": "Strongly agree"})
    store.save("ben", "exit_survey/module1-useful", "likert", {"value": 2, "label": "Neutral"})
    answers = survey_answers(store)
    row = likert_distribution(answers).set_index("item").loc["module1-useful"]
    assert (row["answers"], row["Strongly agree"], row["Neutral"]) == (2, 1, 1)
    assert row["mean (1-5)"] == pytest.approx(4.0)  # points 5 and 3
    learners, threads = forum_participation({"ana": {"module1": ForumCount(2, 1)},
                                             "ben": {"module1": ForumCount(1, 0),
                                                     "module2": ForumCount(0, 3)}})
    assert learners.set_index("learner").loc["ben"].tolist() == [1, 3]
    assert threads.set_index("thread").loc["module1"].tolist() == [2, 3, 1]


def test_tables_are_escaped_and_downloadable():
    """Is text from learners escaped, and is a CSV link there?"""
    page = table_html(pd.DataFrame([{"comment": "<script>x</script>"}]), "Comments", "comments.csv")
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert "download='comments.csv'" in page and "data:text/csv" in page
