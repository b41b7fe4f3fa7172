"""The example modules the README runs are the ones docs/gradcheck.md prints, and they import."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _block_after(doc: str, marker: str) -> str:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    start = text.index(marker)
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


@pytest.mark.parametrize("name,marker", [("mypg.py", "A user's module, `mypg.py`:"), ("myloss.py", "`myloss.py`:")])
def test_example_module_is_the_one_the_docs_print(name, marker):
    assert (ROOT / "examples" / name).read_text(encoding="utf-8") == _block_after("gradcheck.md", marker)


def test_the_readme_runs_the_example_modules_by_path():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("mypg.py", "myloss.py"):
        assert f"$ derive gradcheck examples/{name}:" in readme
        assert (ROOT / "examples" / name).is_file()


def test_the_numpy_example_defines_the_estimators_the_docs_run():
    module = runpy.run_path(str(ROOT / "examples" / "mypg.py"))
    assert all(callable(module[f]) for f in ("grad", "buggy", "truncated", "batch_baseline"))
