"""The course glossary: key terms from every module, one list for notebooks, apps and tests."""

from __future__ import annotations

import html
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from se4u.config import REPO_DIR

GLOSSARY_DIR = REPO_DIR / "notebooks" / "glossary"


class Term(BaseModel):
    """A key term, its plain-language definition and the module that introduces it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    term: str = Field(min_length=1, max_length=200)
    definition: str = Field(min_length=10, max_length=2000)
    module: str = Field(pattern=r"^module[1-6]$")


class GlossaryError(Exception):
    """A glossary file is broken; the message names the file, the entry and the field."""


_terms = TypeAdapter(list[Term])


def read_terms(path: Path) -> list[Term]:
    """The terms of one glossary file (``notebooks/glossary/<module>.yaml``)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        terms = _terms.validate_python(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GlossaryError(f"{path}: cannot read the glossary: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GlossaryError(f"{path}: entry {where!r}: {first['msg']}") from None
    wrong = [t.term for t in terms if t.module != Path(path).stem]
    if wrong:
        raise GlossaryError(f"{path}: terms {wrong} name another module than {Path(path).stem!r}")
    return terms


def load_glossary(folder: Path = GLOSSARY_DIR) -> list[Term]:
    """Every term of the course, sorted alphabetically; a term defined twice is an error."""
    terms: list[Term] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        for term in read_terms(path):
            key = term.term.casefold()
            if key in seen:
                raise GlossaryError(f"{path}: {term.term!r} is already defined in {seen[key]}")
            seen[key] = term.module
            terms.append(term)
    return sorted(terms, key=lambda t: t.term.casefold())


def glossary_html(module: str | None = None) -> str:
    """The glossary (or one module's terms) as an HTML description list."""
    rows = "".join(
        f"<dt>{html.escape(t.term)}</dt><dd>{html.escape(t.definition)}</dd>"
        for t in load_glossary() if module is None or t.module == module)
    return f"<dl class='se4u-glossary'>{rows}</dl>"
