"""Module notebooks: the shape every module shares, word counts, activities, workload and glossary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from se4u.banks import read_bank
from se4u.course import load_course
from se4u.glossary import GlossaryError, load_glossary, read_terms

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
MODULES = [f"module{i}" for i in range(1, 7)]
MIN_READING_WORDS = {"module1": 2000}


def text_of(module: str) -> str:
    return (NOTEBOOKS / f"{module}.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under a level-2 heading, up to the next level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def prose(markdown: str) -> str:
    """Markdown without code cells."""
    return re.sub(r"```\{code-cell\}.*?```", "", markdown, flags=re.S)


@pytest.mark.parametrize("module", MODULES)
def test_learning_objectives(module):
    """Does the module open with 4 to 6 learning objectives?"""
    bullets = re.findall(r"^- ", section(text_of(module), "Learning objectives"), re.M)
    assert 4 <= len(bullets) <= 6


@pytest.mark.parametrize("module", MODULES)
def test_reading_length_and_mark_as_read(module):
    """Is the reading long enough, and does every section end with a 'mark as read' control?"""
    reading = section(text_of(module), "Reading")
    words = len(prose(reading).split())
    assert words >= MIN_READING_WORDS.get(module, 2500), f"{module}: {words} words"
    parts = re.split(r"^### ", reading, flags=re.M)[1:]
    assert 5 <= len(parts) <= 9
    slugs = []
    for part in parts:
        calls = re.findall(rf'mark_as_read\("{module}", "([a-z0-9-]+)"', part)
        assert len(calls) == 1, f"section {part.splitlines()[0]!r} needs one mark_as_read"
        slugs += calls
    assert len(set(slugs)) == len(slugs), "section ids must be unique"


@pytest.mark.parametrize("module", MODULES)
def test_assigned_readings_are_listed(module):
    """Are the assigned readings listed with the Toolkit part and their time?"""
    readings = section(text_of(module), "Assigned readings")
    assert "Toolkit" in readings
    assert re.search(r"\|\s*\*?\*?\d+( minutes)?\*?\*?\s*\|", readings), "readings need their minutes"


@pytest.mark.parametrize("module", MODULES)
def test_every_activity_kind_is_present_and_shown(module):
    """Does the module have each practice activity kind, and does the notebook show every bank activity?"""
    bank = read_bank(NOTEBOOKS / "banks" / f"{module}.yaml")
    types = [a.type for a in bank.activities]
    assert types.count("multiple_choice") >= 6
    assert {"drag_to_categories", "drag_the_words"} & set(types)
    assert {"match_pairs", "order_items"} & set(types)
    assert "jigsaw" in types
    essays = [a for a in bank.activities if a.type == "short_essay"]
    assert essays and all(len(e.rubric) >= 3 for e in essays)
    assert "forum" in types
    shown = set(re.findall(rf'activity\("{module}", "([a-z0-9_-]+)"\)', text_of(module)))
    assert shown == {a.id for a in bank.activities}
    for spec in bank.activities:
        for option in getattr(spec, "options", []):
            assert option.explanation, f"{spec.id}/{option.id} needs an explanation"


@pytest.mark.parametrize("module", MODULES)
def test_workload_adds_up_to_the_planned_hours(module):
    """Does the workload table add up to the module's hours in the course file (±10%)?"""
    table = section(text_of(module), "Workload")
    minutes = [int(m) for row in table.splitlines()
               if row.startswith("|") and "Total" not in row
               for m in re.findall(r"\|\s*(\d+)\s*\|\s*$", row)]
    planned = load_course().part(module).minutes
    assert len(minutes) >= 5
    assert abs(sum(minutes) - planned) <= planned * 0.1, f"{sum(minutes)} vs {planned}"


@pytest.mark.parametrize("module", MODULES)
def test_key_terms_are_in_the_glossary(module):
    """Is every key term of the module defined in the course glossary?"""
    listed = [bold or plain for bold, plain in re.findall(
        r"^- (?:\*\*(.+?)\*\*.*|(.+))$", section(text_of(module), "Key terms"), re.M)]
    assert len(listed) >= 8
    defined = {t.term.casefold() for t in load_glossary()}
    missing = [t for t in listed if t.strip().casefold() not in defined]
    assert not missing, f"not in the glossary: {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_whats_next_links_to_a_notebook(module):
    """Does 'What's next' link to the next part of the course, which exists?"""
    links = re.findall(r"\(([a-z0-9_]+\.ipynb)\)", section(text_of(module), "What's next"))
    parts = [p.id for p in load_course().parts]
    expected = parts[parts.index(module) + 1] + ".ipynb"
    assert expected in links
    assert (NOTEBOOKS / expected).exists()


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.md")), ids=lambda p: p.name)
def test_no_wrong_resolution_numbers(path):
    """Are the footnote-garbled '9/11' and '10/12' absent (the resolutions are 9/1 and 10/1)?"""
    text = path.read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in (NOTEBOOKS / "banks").glob("*.yaml"))
    assert not re.search(r"\b(9/11|10/12)\b", text)


def test_glossary_is_one_list_without_duplicates():
    """Does the course glossary load as one list, each term defined once?"""
    terms = load_glossary()
    assert len(terms) >= 60
    assert len({t.term.casefold() for t in terms}) == len(terms)


def test_glossary_errors_name_the_file(tmp_path):
    """Is a broken glossary entry reported with its file and field?"""
    path = tmp_path / "module1.yaml"
    path.write_text("- term: SDG\n  module: module1\n")
    with pytest.raises(GlossaryError, match=r"module1\.yaml: entry '0\.definition': Field required"):
        read_terms(path)
    path.write_text("- {term: SDG, definition: A goal of the 2030 Agenda., module: module2}\n")
    with pytest.raises(GlossaryError, match="another module"):
        read_terms(path)
