"""Activity banks: every shipped bank is valid; malformed banks get one clear message, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from se4u.banks import ACTIVITY_TYPES, BankError, load_bank, read_bank

BANKS = Path(__file__).resolve().parent.parent / "notebooks" / "banks"
VALID = {
    "schema_version": 1,
    "bank": "sample",
    "title": "Sample",
    "activities": [
        {"id": "q1", "type": "multiple_choice", "kind": "single", "prompt": "Pick one",
         "options": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}]},
        {"id": "e1", "type": "short_essay", "prompt": "Write", "min_words": 10, "max_words": 50},
        {"id": "s1", "type": "likert", "prompt": "Agree?"},
    ],
}


def write(tmp_path: Path, data: object, name: str = "sample") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize("path", sorted(BANKS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_banks_are_valid(path):
    """Is every bank in notebooks/banks valid, and named after its file?"""
    bank = read_bank(path)
    assert bank.bank == path.stem
    assert bank.activities


def test_valid_bank_loads(tmp_path):
    """Does a valid bank load with its activities in order?"""
    bank = load_bank("sample", write(tmp_path, VALID).parent)
    assert [a.id for a in bank.activities] == ["q1", "e1", "s1"]
    assert bank.key("q1") == "sample/q1"


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["activities"][0]["options"][0].pop("text"),
     "activity 'q1' (#1): field 'options.0.text': Field required"),
    (lambda d: d["activities"][0]["options"][1].update(correct=True),
     "activity 'q1' (#1): a single-answer question needs exactly 1 correct option, not 2"),
    (lambda d: d["activities"][1].update(min_words=100),
     "activity 'e1' (#2): min_words (100) is above max_words (50)"),
    (lambda d: d["activities"][2].update(type="hologram"), "activity 's1' (#3): unknown activity type"),
    (lambda d: d["activities"][2].pop("type"), "activity 's1' (#3): field 'type' is missing"),
    (lambda d: d["activities"][2].update(id="q1"), "activity 'q1' (#3): field 'id': 'q1' is used twice"),
    (lambda d: d["activities"][0].update(colour="red"),
     "activity 'q1' (#1): field 'colour': Extra inputs are not permitted"),
    (lambda d: d.update(schema_version=2), "field 'schema_version' must be 1, not 2"),
    (lambda d: d.update(activities=[]), "field 'activities' must be a non-empty list"),
    (lambda d: d.pop("title"), "field 'title': Field required"),
])
def test_malformed_bank_message_names_file_activity_and_field(tmp_path, mutate, expected):
    """Does each kind of mistake give one message naming the file, the activity and the field?"""
    data = copy.deepcopy(VALID)
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(BankError) as caught:
        read_bank(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "Traceback" not in message


def test_yaml_syntax_error_names_line(tmp_path):
    """Is a YAML syntax error reported with its line and column?"""
    path = write(tmp_path, "schema_version: 1\nactivities:\n  - id: [unclosed\n")
    with pytest.raises(BankError, match=r"sample.yaml, line \d+, column \d+: not valid YAML"):
        read_bank(path)


def test_missing_bank_and_activity(tmp_path):
    """Are a missing bank and a missing activity named, with the ids the bank does have?"""
    with pytest.raises(BankError, match="no such activity bank"):
        load_bank("absent", tmp_path)
    bank = load_bank("sample", write(tmp_path, VALID).parent)
    with pytest.raises(BankError, match="no activity 'zz' \\(the bank has: q1, e1, s1\\)"):
        bank.get("zz")
    with pytest.raises(BankError, match="is not a bank name"):
        load_bank("../etc/passwd", tmp_path)


def test_bank_name_must_match_file(tmp_path):
    """Is a bank whose 'bank' field differs from its file name refused?"""
    write(tmp_path, VALID, name="other")
    with pytest.raises(BankError, match="field 'bank' is 'sample' but the file is named 'other'"):
        load_bank("other", tmp_path)


def test_edited_bank_is_reloaded(tmp_path):
    """Does the loader see an author's edit without restarting the kernel?"""
    path = write(tmp_path, VALID)
    assert load_bank("sample", tmp_path).title == "Sample"
    data = copy.deepcopy(VALID)
    data["title"] = "Sample, edited for the second cohort"
    path.write_text(yaml.safe_dump(data))
    assert load_bank("sample", tmp_path).title.endswith("second cohort")


def test_every_activity_type_has_a_model():
    """Is every declared type accepted by the loader (with minimal valid content)?"""
    assert set(ACTIVITY_TYPES) >= {"multiple_choice", "short_essay", "likert", "free_text"}


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "type", "prompt", "options", "kind", "text", "correct",
                                       "activities", "schema_version", "bank", "title", "answer",
                                       "min_words", "max_words", "scale", "rubric"]), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=yaml_values)
def test_arbitrary_structures_never_raise_anything_but_bank_error(tmp_path, data):
    """Whatever structure a bank file holds, is the only failure a BankError naming the file?"""
    path = write(tmp_path, data)
    try:
        read_bank(path)
    except BankError as exc:
        assert str(exc).startswith(str(path))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(path_choice=st.integers(0, 1000), value=yaml_values)
def test_mutated_valid_bank_never_raises_anything_but_bank_error(tmp_path, path_choice, value):
    """Replacing any one part of a valid bank with junk gives a BankError or a valid bank, nothing else."""
    data = copy.deepcopy(VALID)
    spots = []

    def walk(node):
        if isinstance(node, dict):
            for key in node:
                spots.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                spots.append((node, index))
                walk(node[index])

    walk(data)
    parent, key = spots[path_choice % len(spots)]
    parent[key] = value
    path = write(tmp_path, data)
    try:
        read_bank(path)
    except BankError as exc:
        assert str(exc).startswith(str(path))


@given(text=st.text(max_size=200))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_arbitrary_text_files(tmp_path, text):
    """Does any text at all, YAML or not, give a bank or a BankError?"""
    path = write(tmp_path, text)
    try:
        read_bank(path)
    except BankError as exc:
        assert str(exc).startswith(str(path))


def test_binary_and_huge_files(tmp_path):
    """Are a non-UTF-8 file and an oversized file refused with a message?"""
    path = tmp_path / "sample.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(BankError, match="cannot read the file"):
        read_bank(path)
    path.write_text("# padding\n" * 300_000)
    with pytest.raises(BankError, match="larger than"):
        read_bank(path)
