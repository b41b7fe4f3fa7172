"""Output paths are refused before a run when writing them would lose data or could not be read back."""

import pytest

from derive.errors import UserError
from derive.outputs import check_output


def test_a_python_file_is_never_an_output(tmp_path):
    with pytest.raises(UserError, match=r"--save-counterexample .*x.py: refusing to write over a Python file"):
        check_output("--save-counterexample", tmp_path / "x.py")


def test_an_input_of_the_run_is_never_an_output(tmp_path):
    mdp = tmp_path / "m.json"
    mdp.write_text("{}")
    with pytest.raises(UserError, match="is an input of this run"):
        check_output("--save-counterexample", tmp_path / "." / "m.json", inputs=[mdp], suffixes=(".json",))


def test_a_suffix_derive_cannot_read_back_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"expected a file name ending in \.json, got '\.txt'"):
        check_output("--save-minimal", tmp_path / "ce.txt", suffixes=(".json",))


def test_a_folder_and_a_missing_folder_are_refused_and_nothing_is_created(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        check_output("-o", tmp_path)
    with pytest.raises(UserError, match="no such folder"):
        check_output("-o", tmp_path / "new" / "x.tex")
    assert not (tmp_path / "new").exists()


def test_a_new_file_in_an_existing_folder_is_accepted(tmp_path):
    assert check_output("--save-counterexample", tmp_path / "ce.json", inputs=[tmp_path / "m.json"],
                        suffixes=(".json",)) == tmp_path / "ce.json"
    assert check_output("-o", "relative.tex").name == "relative.tex"
