"""Course notebooks are written as MyST Markdown (``notebooks/*.md``); this builds the ``.ipynb``.

The built notebooks carry no outputs, no execution counts, no editor metadata and stable cell
ids, so a rebuild of unchanged text gives the same bytes and a test can prove them fresh.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jupytext
import nbformat

from se4u.config import REPO_DIR

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def sources(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The Markdown sources of the course notebooks (files with a jupytext header)."""
    return sorted(p for p in folder.glob("*.md") if p.read_text(encoding="utf-8").startswith(
        "---\njupytext:"))


def navigation(stem: str) -> dict[str, object]:
    """What the course template shows around a notebook: its title and the parts before and after."""
    from se4u.course import load_course

    parts = load_course().parts
    ids = [p.id for p in parts]
    if stem not in ids:
        return {"part": stem}
    index = ids.index(stem)
    nav: dict[str, object] = {"part": stem, "title": parts[index].title}
    if index > 0:
        nav["prev"] = {"href": parts[index - 1].notebook, "title": parts[index - 1].title}
    if index + 1 < len(parts):
        nav["next"] = {"href": parts[index + 1].notebook, "title": parts[index + 1].title}
    return nav


#: Appended to every page that shows course activities (see se4u.activity.learner_arrived).
LAST_CELL = "from se4u.notebook import learner_arrived\n\nlearner_arrived()"


def build_text(md_path: Path) -> str:
    """The ``.ipynb`` text for one Markdown source."""
    notebook = jupytext.read(md_path)
    if any(c.cell_type == "code" and "from se4u.notebook import" in c.source for c in notebook.cells):
        notebook.cells.append(nbformat.v4.new_code_cell(LAST_CELL, metadata={"tags": ["remove-input"]}))
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"},
                         "se4u": navigation(md_path.stem)}
    for index, cell in enumerate(notebook.cells):
        digest = hashlib.sha1(f"{md_path.stem}:{index}:{cell.source}".encode(), usedforsecurity=False)
        cell.id = f"{md_path.stem}-{index:03d}-{digest.hexdigest()[:8]}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in {"tags"}}
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def build(folder: Path = NOTEBOOKS_DIR, *, check: bool = False) -> list[Path]:
    """Write every notebook whose text changed; with ``check``, only list the stale ones."""
    stale = []
    for md_path in sources(folder):
        target = md_path.with_suffix(".ipynb")
        text = build_text(md_path)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(target)
            if not check:
                target.write_text(text, encoding="utf-8")
    return stale
