"""Jupyter notebooks: the markdown cells (and rendered outputs) read as Markdown, lines named by cell and line."""

import json

import pytest

from derive.cli import main
from derive.errors import UserError
from derive.read.extract import extract_rows
from derive.read.notebook import read_notebook

GRAD = "\\nabla_\\theta J(\\theta)"
TRUE = f"$${GRAD} = \\nabla_\\theta \\sum_\\tau P(\\tau;\\theta) R(\\tau)$$"


def notebook(*cells):
    out = []
    for kind, source, *outputs in cells:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell["outputs"] = outputs[0] if outputs else []
        out.append(cell)
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_markdown_cells_are_read_and_code_cells_are_not():
    nb = read_notebook(notebook(("markdown", ["The objective:\n", "\n", f"$${GRAD} = 0$$\n"]),
                                ("code", "x = '$$J(\\theta) = 1$$'"),
                                ("markdown", f"Then {TRUE}")), "n.ipynb")
    rows = extract_rows(nb.text)
    assert [" ".join(r.text.split()) for r in rows] == [f"{GRAD} = 0", TRUE.strip("$")]
    assert [nb.place(r.line) for r in rows] == ["cell 1, line 3", "cell 3, line 1"]
    assert nb.rename("the chain of lines 3–6 holds; line 6, column 2 fails") == (
        "the chain of cell 1, line 3 to cell 3, line 1 holds; cell 3, line 1, column 2 fails")


def test_nothing_runs_from_one_cell_into_the_next():
    # a $$ never closed in cell 1, a fence never closed in cell 2: cell 3 is read on its own
    nb = read_notebook(notebook(("markdown", "Cost: $$5"), ("markdown", "```\ncode"),
                                ("markdown", f"$${GRAD} = 0$$")), "n.ipynb")
    rows = extract_rows(nb.text)
    assert [" ".join(r.text.split()) for r in rows] == [f"{GRAD} = 0"] and nb.place(rows[0].line) == "cell 3, line 1"


def test_math_a_code_cell_displays_is_read():
    out = [{"output_type": "display_data", "metadata": {},
            "data": {"text/plain": ["<Math>"], "text/latex": [f"$\\displaystyle {GRAD} = 0$"]}}]
    nb = read_notebook(notebook(("code", "display(Math(...))", out)), "n.ipynb")
    (row,) = extract_rows(nb.text)
    assert "= 0" in row.text and nb.place(row.line) == "cell 1 output, line 1"


@pytest.mark.parametrize("raw,needle", [
    ("{", "invalid JSON at line 1"),
    ("[]", "no list of 'cells'"),
    ('{"cells": [{"cell_type": "markdown", "source": 3}]}', "cells[0].source: expected text or a list of lines, got int"),
])
def test_not_a_notebook_is_refused_naming_what_is_wrong(raw, needle):
    with pytest.raises(UserError, match=needle.replace("[", "\\[").replace("]", "\\]").replace("(", "\\(")):
        read_notebook(raw, "n.ipynb")


def test_cli_names_cell_and_line_and_refuses_writing_back(tmp_path, capsys):
    f = tmp_path / "n.ipynb"
    f.write_text(notebook(("code", "import numpy"), ("markdown", ["The objective:\n", "\n", f"$${GRAD} = 0$$\n"])),
                 encoding="utf-8")
    assert main(["check", str(f), "--random", "2", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "✗ cell 2, line 3:3" in out and "NOT VERIFIED" in out
    assert main(["check", str(f), "--random", "2", "--json", "--seed", "1"]) == 1
    (line,) = json.loads(capsys.readouterr().out)["lines"]
    assert (line["cell"], line["cell_line"]) == ("cell 2", 3)
    assert main(["check", str(f), "--format", "md"]) == 2
    err = capsys.readouterr().err
    assert "is a notebook" in err and len(err.strip().splitlines()) == 1
    # the true twin verifies
    f.write_text(notebook(("markdown", TRUE)), encoding="utf-8")
    assert main(["check", str(f), "--random", "2", "--seed", "1"]) == 0
