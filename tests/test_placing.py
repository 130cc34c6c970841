"""Placing activities: scoring, partial credit, attempts, solution, restore, key-invariance."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from se4u.banks import (
    DragTheWordsSpec,
    DragToCategoriesSpec,
    JigsawSpec,
    MatchPairsSpec,
    OrderItemsSpec,
)
from se4u.notebook import widget_classes
from se4u.placing import (
    DragTheWords,
    DragToCategories,
    JigsawPuzzle,
    MatchPairs,
    OrderItems,
    image_data_url,
)
from tests.widget_driver import page_action, page_sets


def categories_spec(swap: bool = False, **overrides) -> DragToCategoriesSpec:
    first, second = ("fruit", "veg") if not swap else ("veg", "fruit")
    data = {
        "id": "sort", "type": "drag_to_categories", "prompt": "Sort them.",
        "categories": [{"id": "fruit", "label": "Fruit"}, {"id": "veg", "label": "Vegetable"}],
        "items": [
            {"id": "apple", "text": "Apple", "category": first, "explanation": "EXPLAIN-APPLE"},
            {"id": "carrot", "text": "Carrot", "category": second, "explanation": "EXPLAIN-CARROT"},
            {"id": "pear", "text": "Pear", "category": "fruit"},
            {"id": "leek", "text": "Leek", "category": "veg"},
        ],
    }
    data.update(overrides)
    return DragToCategoriesSpec.model_validate(data)


def order_spec(swap: bool = False, **overrides) -> OrderItemsSpec:
    items = [{"id": "a", "text": "First"}, {"id": "b", "text": "Second"},
             {"id": "c", "text": "Third", "explanation": "EXPLAIN-C"}]
    if swap:
        items[0], items[1] = items[1], items[0]
    data = {"id": "order", "type": "order_items", "prompt": "Order them.", "items": items}
    data.update(overrides)
    return OrderItemsSpec.model_validate(data)


def pairs_spec(swap: bool = False, **overrides) -> MatchPairsSpec:
    rights = ["Paris", "Rome", "Vienna"]
    if swap:
        rights[0], rights[1] = rights[1], rights[0]
    data = {"id": "pairs", "type": "match_pairs", "prompt": "Match the capitals.",
            "pairs": [{"id": "fr", "left": "France", "right": rights[0], "explanation": "EXPLAIN-FR"},
                      {"id": "it", "left": "Italy", "right": rights[1]},
                      {"id": "at", "left": "Austria", "right": rights[2]}]}
    data.update(overrides)
    return MatchPairsSpec.model_validate(data)


def words_spec(swap: bool = False, **overrides) -> DragTheWordsSpec:
    answers = ["red", "blue"] if not swap else ["blue", "red"]
    data = {"id": "words", "type": "drag_the_words", "prompt": "Fill the gaps.",
            "passage": "Roses are {{g-one}}, violets are {{g-two}}.",
            "gaps": [{"id": "g-one", "answer": answers[0], "explanation": "EXPLAIN-GAP"},
                     {"id": "g-two", "answer": answers[1]}],
            "distractors": ["green"]}
    data.update(overrides)
    return DragTheWordsSpec.model_validate(data)


def jigsaw_spec(swap: bool = False, **overrides) -> JigsawSpec:
    slots = ["who", "what"] if not swap else ["what", "who"]
    data = {"id": "jig", "type": "jigsaw", "mode": "text", "prompt": "Build the definition.",
            "takeaway": "TAKEAWAY-TEXT",
            "slots": [{"id": "who", "label": "Who"}, {"id": "what", "label": "What"}],
            "pieces": [{"id": "p1", "text": "A State party", "slot": slots[0]},
                       {"id": "p2", "text": "reviews", "slot": slots[1]}]}
    data.update(overrides)
    return JigsawSpec.model_validate(data)


SPECS = {
    DragToCategories: categories_spec,
    OrderItems: order_spec,
    MatchPairs: pairs_spec,
    DragTheWords: words_spec,
    JigsawPuzzle: jigsaw_spec,
}


def make(cls, store, spec, learner="amina"):
    widget = cls(spec, key=f"bank/{spec.id}", learner=learner, store=store)
    widget.open()
    return widget


def right_answer(widget) -> dict[str, str]:
    return widget.solution()


# --- DragToCategories ----------------------------------------------------------------------------
def test_categories_right_answer_scores_and_locks(store, comms):
    """Does a complete right sort score 1, lock and mark every item right?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={"apple": "fruit", "pear": "fruit",
                                                  "carrot": "veg", "leek": "veg"})
    assert sort.feedback["verdict"] == "correct"
    assert sort.score == 1.0
    assert sort.locked
    assert set(sort.feedback["marks"].values()) == {"right"}


def test_categories_partial_credit_and_marks_only_placed(store, comms):
    """Is the score right placements / all items, with marks and explanations only for placed ones?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={"apple": "fruit", "carrot": "fruit"})
    assert sort.score == 0.25
    assert sort.feedback["verdict"] == "partial"
    assert sort.feedback["marks"] == {"apple": "right", "carrot": "wrong"}
    assert sort.feedback["explanations"] == {"apple": "EXPLAIN-APPLE", "carrot": "EXPLAIN-CARROT"}
    assert not sort.locked


def test_categories_nothing_right_is_incorrect(store, comms):
    """Is a sort with nothing right 'incorrect' and worth 0?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={"apple": "veg"})
    assert sort.feedback["verdict"] == "incorrect"
    assert sort.score == 0.0


def test_check_with_nothing_placed_is_not_an_attempt(store, comms):
    """Is an empty check answered with a prompt rather than counted?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={})
    assert sort.attempts == 0
    assert "Place at least one" in sort.feedback["message"]


def test_attempt_limit_reveals_solution(store, comms):
    """After the last allowed attempt, is the solution placed, marked and locked?"""
    sort = make(DragToCategories, store, categories_spec(max_attempts=2))
    page_action(sort, action="check", placements={"apple": "veg"})
    assert "1 attempt(s) left" in sort.feedback["message"]
    page_action(sort, action="check", placements={"apple": "veg", "pear": "fruit"})
    assert sort.locked
    assert sort.placements == {"apple": "fruit", "carrot": "veg", "pear": "fruit", "leek": "veg"}
    assert sort.feedback["marks"]["pear"] == "right"
    assert sort.feedback["marks"]["apple"] == "moved"
    assert sort.score == 0.25, "the score is the learner's, not the solution's"
    page_action(sort, action="check", placements={"apple": "fruit"})
    assert sort.attempts == 2, "a locked activity takes no more attempts"


def test_solution_after_configured_attempts(store, comms):
    """Is 'Show solution' offered only after solution_after attempts, and does it reveal?"""
    sort = make(DragToCategories, store, categories_spec(solution_after=1))
    page_action(sort, action="solution")
    assert not sort.locked
    page_sets(sort, placements={"apple": "veg"})
    page_action(sort, action="check")
    assert sort.can_show_solution
    page_action(sort, action="solution")
    assert sort.locked
    assert sort.placements["apple"] == "fruit"
    assert store.load("amina", "bank/sort").state["placements"] == {"apple": "veg"}


def test_retry_resets(store, comms):
    """Does 'Try again' send every piece back and clear the feedback?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={"apple": "veg"})
    page_action(sort, action="retry")
    assert sort.placements == {}
    assert sort.feedback == {}
    assert sort.attempts == 1


def test_moving_after_check_clears_feedback_and_saves(store, comms):
    """Does a placement made on the page clear stale feedback and save before checking?"""
    sort = make(DragToCategories, store, categories_spec())
    page_action(sort, action="check", placements={"apple": "veg"})
    page_sets(sort, placements={"apple": "fruit"})
    assert sort.feedback == {}
    assert store.load("amina", "bank/sort").state["placements"] == {"apple": "fruit"}


def test_restore_on_reopen(store, comms):
    """Does a reopened activity come back with placements, attempts and recomputed feedback?"""
    sort = make(DragToCategories, store, categories_spec(max_attempts=3))
    page_action(sort, action="check", placements={"apple": "fruit", "carrot": "fruit"})
    again = make(DragToCategories, store, categories_spec(max_attempts=3))
    assert again.placements == {"apple": "fruit", "carrot": "fruit"}
    assert again.attempts == 1
    assert again.feedback["verdict"] == "partial"
    assert again.score == 0.25
    other = make(DragToCategories, store, categories_spec(max_attempts=3), learner="someone")
    assert other.placements == {} and other.attempts == 0


def test_tampered_store_is_recomputed(store, comms):
    """Does a hand-edited store claiming success get its feedback recomputed from the key?"""
    store.save("amina", "bank/sort", "drag_to_categories",
               {"placements": {"apple": "veg", "ghost": "fruit", "pear": "nowhere"},
                "attempts": "many", "checked": True, "revealed": True,
                "feedback": {"verdict": "correct"}})
    sort = make(DragToCategories, store, categories_spec())
    assert sort.placements == {"apple": "veg"}
    assert sort.attempts == 0
    assert not sort.locked, "a solution is never revealed without the right to see it"
    assert sort.feedback.get("verdict", "") != "correct"


def test_page_sending_unknown_ids_is_ignored(store, comms):
    """Are unknown pieces and targets from the page dropped, and odd messages harmless?"""
    sort = make(DragToCategories, store, categories_spec())
    page_sets(sort, placements={"apple": "fruit", "zzz": "fruit", "pear": "zzz", "leek": 3})
    assert sort.placements == {"apple": "fruit"}
    before = sort.get_state()
    page_action(sort, action="__init__")
    page_action(sort, action="check", placements="not a dict")
    sort.comm.page_sends({"method": "custom", "content": "not a dict"})
    assert sort.get_state()["placements"] == before["placements"]


def test_key_never_synced_before_check(store, comms):
    """Is no category, explanation or right answer in what the page gets before checking?"""
    sort = make(DragToCategories, store, categories_spec())
    state = json.dumps(sort.get_state())
    assert "EXPLAIN" not in state
    assert '"category"' not in state


@pytest.mark.parametrize("cls", list(SPECS), ids=lambda c: c.__name__)
def test_synced_state_does_not_depend_on_the_key(store, comms, cls):
    """With two keys that differ only in the answer, is the page's state identical before checking?"""
    one = make(cls, store, SPECS[cls](), learner="kim")
    two = make(cls, store, SPECS[cls](swap=True), learner="kim")
    first, second = one.get_state(), two.get_state()
    for state in (first, second):
        state.pop("activity_id", None)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert one.solution() != two.solution()


@pytest.mark.parametrize("cls", list(SPECS), ids=lambda c: c.__name__)
def test_every_class_solves_and_half_solves(store, comms, cls):
    """Does each class score its solution 1 and a partial answer the documented fraction?"""
    widget = make(cls, store, SPECS[cls]())
    solution = right_answer(widget)
    first = next(iter(solution))
    assert widget.placing_score({first: solution[first]}) == round(1 / widget._needed, 6)
    page_action(widget, action="check", placements=solution)
    assert widget.score == 1.0
    assert widget.feedback["verdict"] == "correct"


def test_widget_classes_are_registered():
    """Does the notebook helper know a class for every placing type?"""
    classes = widget_classes()
    assert classes["drag_to_categories"] is DragToCategories
    assert classes["order_items"] is OrderItems
    assert classes["match_pairs"] is MatchPairs
    assert classes["drag_the_words"] is DragTheWords
    assert classes["jigsaw"] is JigsawPuzzle


# --- OrderItems ----------------------------------------------------------------------------------
def test_order_positions_hold_one_item(store, comms):
    """Does a position hold one item, and is the score right positions / items?"""
    order = make(OrderItems, store, order_spec())
    assert [t["id"] for t in order.targets] == ["pos-1", "pos-2", "pos-3"]
    page_sets(order, placements={"a": "pos-1", "b": "pos-1", "c": "pos-3"})
    assert order.placements == {"b": "pos-1", "c": "pos-3"}
    page_action(order, action="check")
    assert order.score == round(1 / 3, 6)
    assert order.feedback["marks"] == {"b": "wrong", "c": "right"}
    assert order.feedback["explanations"] == {"c": "EXPLAIN-C"}


def test_order_is_stable_per_learner(store, comms):
    """Is the shuffled order the same on every reopen and varied between learners?"""
    items = [{"id": f"s{i}", "text": f"Step {i}"} for i in range(8)]
    first = make(OrderItems, store, order_spec(items=items))
    second = make(OrderItems, store, order_spec(items=items))
    assert first.pieces == second.pieces
    orders = {tuple(p["id"] for p in make(OrderItems, store, order_spec(items=items),
                                           learner=f"l{i}").pieces) for i in range(6)}
    assert len(orders) > 1


# --- MatchPairs ----------------------------------------------------------------------------------
def test_pairs_pieces_are_opaque(store, comms):
    """Do the right items carry ids that say nothing about their pair?"""
    match = make(MatchPairs, store, pairs_spec())
    assert {p["id"] for p in match.pieces} == {"r1", "r2", "r3"}
    assert {t["id"] for t in match.targets} == {"fr", "it", "at"}
    piece = next(p["id"] for p in match.pieces if p["text"] == "Paris")
    page_action(match, action="check", placements={piece: "fr"})
    assert match.feedback["marks"] == {piece: "right"}
    assert match.feedback["explanations"] == {piece: "EXPLAIN-FR"}
    assert match.score == round(1 / 3, 6)


# --- DragTheWords --------------------------------------------------------------------------------
def test_words_have_opaque_ids_and_distractors(store, comms):
    """Are words w1..wN, gaps gap-1..gap-N, and a distractor in a gap simply wrong?"""
    words = make(DragTheWords, store, words_spec())
    assert {p["id"] for p in words.pieces} == {"w1", "w2", "w3"}
    assert sorted(p["text"] for p in words.pieces) == ["blue", "green", "red"]
    assert [s.get("gap") for s in words.segments if "gap" in s] == ["gap-1", "gap-2"]
    assert "g-one" not in json.dumps(words.get_state())
    by_text = {p["text"]: p["id"] for p in words.pieces}
    page_action(words, action="check", placements={by_text["red"]: "gap-1",
                                                   by_text["green"]: "gap-2"})
    assert words.score == 0.5
    assert words.feedback["marks"] == {by_text["red"]: "right", by_text["green"]: "wrong"}
    assert words.feedback["explanations"] == {by_text["red"]: "EXPLAIN-GAP"}


def test_words_duplicate_answers_are_interchangeable(store, comms):
    """When two gaps take the same word, does either copy count in either gap?"""
    spec = words_spec(passage="{{a}} and {{b}}", gaps=[{"id": "a", "answer": "yes"},
                                                       {"id": "b", "answer": "yes"}])
    words = make(DragTheWords, store, spec)
    yes = [p["id"] for p in words.pieces if p["text"] == "yes"]
    page_action(words, action="check", placements={yes[1]: "gap-1", yes[0]: "gap-2"})
    assert words.score == 1.0


# --- JigsawPuzzle --------------------------------------------------------------------------------
def test_jigsaw_takeaway_only_after_solving(store, comms):
    """Is the takeaway synced only once the puzzle is solved?"""
    jig = make(JigsawPuzzle, store, jigsaw_spec())
    assert jig.takeaway == ""
    assert "TAKEAWAY" not in json.dumps(jig.get_state())
    page_action(jig, action="check", placements={"p1": "what"})
    assert jig.takeaway == ""
    page_action(jig, action="check", placements={"p1": "who", "p2": "what"})
    assert jig.takeaway == "TAKEAWAY-TEXT"
    again = make(JigsawPuzzle, store, jigsaw_spec())
    assert again.takeaway == "TAKEAWAY-TEXT"


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    raw = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_spec(**overrides) -> JigsawSpec:
    data = {"id": "pic", "type": "jigsaw", "mode": "image", "prompt": "Rebuild the map.",
            "takeaway": "MAP-TAKEAWAY", "image": "images/pic.png", "alt": "A map",
            "rows": 2, "cols": 2}
    data.update(overrides)
    return JigsawSpec.model_validate(data)


def test_image_jigsaw_tiles_cells_and_data_url(store, comms, tmp_path):
    """Are tiles t1..tN shuffled (never solved) into cells, with the picture as a data: URL?"""
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "pic.png").write_bytes(tiny_png())
    jig = JigsawPuzzle(image_spec(), key="bank/pic", learner="amina", store=store,
                       notebooks_dir=tmp_path)
    jig.open()
    assert jig.image.startswith("data:image/png;base64,")
    assert [p["id"] for p in jig.pieces] == ["t1", "t2", "t3", "t4"]
    assert [t["id"] for t in jig.targets] == ["cell-1", "cell-2", "cell-3", "cell-4"]
    assert jig.capacity == 1
    solution = jig.solution()
    assert solution != {f"t{n}": f"cell-{n}" for n in range(1, 5)}
    page_action(jig, action="check", placements=solution)
    assert jig.score == 1.0
    assert jig.takeaway == "MAP-TAKEAWAY"


def test_image_outside_notebooks_or_missing_is_reported(store, comms, tmp_path):
    """Is a missing or escaping picture a message on the page, not a traceback?"""
    jig = JigsawPuzzle(image_spec(image="../secret.png"), key="bank/pic", learner="amina",
                       store=store, notebooks_dir=tmp_path)
    assert "outside the notebooks folder" in jig.image_problem
    assert jig.image == ""
    with pytest.raises(ValueError, match="cannot be read"):
        image_data_url("images/missing.png", tmp_path)
    (tmp_path / "big.png").write_bytes(b"\x00" * 2_000_000)
    with pytest.raises(ValueError, match="larger than"):
        image_data_url("big.png", tmp_path)
