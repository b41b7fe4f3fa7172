"""Proof scripts are found and run; bad ones are refused with a message naming the file."""

from pathlib import Path

import pytest

from derive.errors import UserError
from derive.loader import bundled_proofs_dir, load_proofs, proof_files


def test_bundled_proofs_are_found():
    files = proof_files([])
    assert any(f.name == "policy_gradient.py" for f in files)
    assert bundled_proofs_dir().is_dir()


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        proof_files([str(tmp_path / "nope.py")])


def test_script_that_raises_names_file_and_line(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(UserError, match=r"bad.py:2: the proof script raised RuntimeError: boom"):
        load_proofs(f)


def test_script_without_proof(tmp_path):
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    with pytest.raises(UserError, match="defines no PROOF"):
        load_proofs(f)


def test_proof_of_wrong_type(tmp_path):
    f = tmp_path / "typed.py"
    f.write_text("PROOF = 3\n")
    with pytest.raises(UserError, match="PROOF must be a derive.Proof, got int"):
        load_proofs(f)


def test_syntax_error(tmp_path):
    f = tmp_path / "syn.py"
    f.write_text("def (:\n")
    with pytest.raises(UserError, match="syn.py:1: syntax error"):
        load_proofs(f)
    assert Path(f).exists()  # nothing is lost
