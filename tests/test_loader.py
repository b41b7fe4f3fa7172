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


# -- a proof is well-formed data, checked before it runs ----------------------------

HEADER = (
    "import sys\n"
    "import sympy as sp\n"
    "from derive.derivation import Derivation, Goal, Proof\n"
    "from derive.notation import J, P, R, sum_tau\n"
    "from derive.rules import definition_of_objective\n"
    "d = Derivation.begin('d', J(), goal=Goal(J(), sum_tau(P() * R()))).by(definition_of_objective)\n"
)


def script(tmp_path, body, name="p.py"):
    f = tmp_path / name
    f.write_text(HEADER + body)
    return f


def refused(f, *patterns):
    with pytest.raises(UserError) as info:
        load_proofs(f)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(f))
    for p in patterns:
        assert p in message, message
    return message


def test_a_well_formed_proof_loads(tmp_path):
    (proof,) = load_proofs(script(tmp_path, "PROOF = Proof('p', 'P', (d,))\n"))
    assert proof.derivations[0].name == "d"


@pytest.mark.parametrize("call", ["sys.exit(0)", "sys.exit(3)", "raise SystemExit", "sys.exit('bye')"])
def test_sys_exit_while_loading_is_a_load_error(tmp_path, call):
    refused(script(tmp_path, f"{call}\nPROOF = Proof('p', 'P', (d,))\n"), "p.py:7:", "sys.exit(", "while loading")


def test_prints_while_loading_go_to_stderr(tmp_path, capsys):
    load_proofs(script(tmp_path, "print('chatty')\nPROOF = Proof('p', 'P', (d,))\n"))
    out, err = capsys.readouterr()
    assert out == "" and "chatty" in err


def test_a_bare_derivation_is_refused(tmp_path):
    refused(script(tmp_path, "PROOF = Proof('p', 'P', d)\n"), "p.py:7:", "Proof.derivations", "single Derivation")


def test_a_string_among_the_derivations_is_refused(tmp_path):
    refused(script(tmp_path, "PROOF = Proof('p', 'P', (d, 'd2'))\n"), "Proof.derivations[1]", "the string 'd2'")


def _marker_text(marker):
    # Text that would create a file if anything ran sympify (eval) on it.
    return f"\"open(r'{marker}', 'w')\""


def test_a_string_as_a_goal_side_is_refused_and_never_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    body = f"g = Goal(J(), {_marker_text(marker)})\nPROOF = Proof('p', 'P', (d,))\n"
    refused(script(tmp_path, body), "p.py:7:", "Goal.rhs", "string")
    assert not marker.exists()
    refused(script(tmp_path, "g = Goal('J(theta)', J())\n"), "Goal.lhs", "string")


def test_a_string_as_a_claim_is_refused_and_never_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    body = f"d2 = d.claim({_marker_text(marker)}, why='text')\nPROOF = Proof('p', 'P', (d2,))\n"
    refused(script(tmp_path, body), "p.py:7:", "derivation 'd', step 2", "claim", "string")
    assert not marker.exists()


def test_a_string_as_the_start_is_refused(tmp_path):
    body = "d2 = Derivation.begin('d2', 'J(theta)', goal=Goal(J(), J()))\n"
    refused(script(tmp_path, body), "derivation 'd2': start", "string")


def test_an_empty_proof_is_refused(tmp_path):
    refused(script(tmp_path, "PROOF = Proof('p', 'P', ())\n"), "no derivations", "nothing to verify")
    refused(script(tmp_path, "PROOFS = []\n"), "PROOFS is empty", "nothing to verify")


def test_duplicate_derivation_names_are_refused_naming_both(tmp_path):
    body = ("d2 = Derivation.begin('d', J(), goal=Goal(J(), J())).claim(J(), why='same')\n"
            "PROOF = Proof('p', 'P', (d, d2))\n")
    refused(script(tmp_path, body), "Proof.derivations[0] and Proof.derivations[1]", "'d'")


def test_distinct_derivation_names_are_accepted(tmp_path):
    body = ("d2 = Derivation.begin('e', J(), goal=Goal(J(), J())).claim(J(), why='same')\n"
            "PROOF = Proof('p', 'P', (d, d2))\n")
    (proof,) = load_proofs(script(tmp_path, body))
    assert [x.name for x in proof.derivations] == ["d", "e"]


def test_a_proof_changed_after_it_was_built_is_checked_again(tmp_path):
    body = "PROOF = Proof('p', 'P', (d,))\nobject.__setattr__(PROOF, 'derivations', ())\n"
    refused(script(tmp_path, body), "PROOF", "nothing to verify")


def test_a_multiline_exception_message_is_one_line(tmp_path):
    f = tmp_path / "multi.py"
    f.write_text("raise ValueError('first\\nsecond')\n")
    message = refused(f, "multi.py:1:", "first second")
    assert message.endswith("first second")


def test_a_base_exception_while_loading_is_a_load_error(tmp_path):
    f = tmp_path / "base.py"
    f.write_text("class Odd(BaseException):\n    pass\nraise Odd('odd')\n")
    refused(f, "base.py:3:", "raised Odd: odd")


# -- the whole tree is checked again, not only the Proof -----------------------------

@pytest.mark.parametrize("change, patterns", [
    ("object.__setattr__(d.steps[0], 'expr', 'pi')", ["Proof.derivations[0] ('d').steps[0]", "string 'pi'"]),
    ("object.__setattr__(d.steps[0], 'expr', None)", ["steps[0]", "got NoneType"]),
    ("object.__setattr__(d.goal, 'rhs', None)", ["('d').goal", "Goal.rhs", "NoneType"]),
    ("object.__setattr__(d, 'steps', None)", ["('d')", "steps", "NoneType"]),
    ("object.__setattr__(d.steps[0], 'relation', '<=')", ["steps[0]", "relation", "'<='"]),
    ("object.__setattr__(d.goal, 'relation', '<=')", ["goal", "Goal.relation", "'<='"]),
    ("object.__setattr__(d.steps[0], 'rule', 5)", ["steps[0]", "Step.rule", "int"]),
    ("class S(str): pass\nobject.__setattr__(d.steps[0], 'rule', S('by d'))", ["Step.rule", "S"]),
    ("object.__setattr__(d.steps[0], 'why', b'x')", ["steps[0]", "why", "bytes"]),
    ("object.__setattr__(d.steps[0], 'lemma', 'd')", ["steps[0]", "lemma", "str"]),
])
def test_a_tree_changed_after_it_was_built_is_refused_naming_the_field(tmp_path, change, patterns):
    body = f"PROOF = Proof('p', 'P', (d,))\n{change}\n"
    refused(script(tmp_path, body), "PROOF", *patterns)


def test_a_lemma_changed_after_it_was_built_is_refused(tmp_path):
    body = ("from derive.notation import J\n"
            "d2 = Derivation.begin('e', J(), goal=Goal(J(), d.goal.rhs)).cite(d)\n"
            "PROOF = Proof('p', 'P', (d2,))\n"
            "object.__setattr__(d.steps[0], 'expr', 'x')\n")
    refused(script(tmp_path, body), "steps[0].lemma", "string 'x'")


def test_an_unchanged_tree_with_a_lemma_loads(tmp_path):
    body = ("d2 = Derivation.begin('e', J(), goal=Goal(J(), d.goal.rhs)).cite(d)\n"
            "PROOF = Proof('p', 'P', (d, d2))\n")
    (proof,) = load_proofs(script(tmp_path, body))
    assert proof.derivations[1].steps[0].lemma is proof.derivations[0]


# -- a script cannot end the process, and its messages are printed safely ------------

def test_code_left_behind_by_a_script_cannot_end_the_process(tmp_path):
    import os

    from derive.errors import ProcessEndRefused

    load_proofs(script(tmp_path, "PROOF = Proof('p', 'P', (d,))\n"))
    with pytest.raises(ProcessEndRefused, match=r"os\._exit\(0\)"):
        os._exit(0)  # guarded in this process from the first load on (a forked child gets the real one)
    assert os._exit.__wrapped__ is not os._exit


def test_a_signal_to_another_process_is_not_refused(tmp_path):
    # signal 0 only asks whether the process exists: the script's business, not an exit
    body = "import os\nos.kill(os.getppid(), 0)\nPROOF = Proof('p', 'P', (d,))\n"
    (proof,) = load_proofs(script(tmp_path, body))
    assert proof.name == "p"


def test_an_exception_that_cannot_print_itself_is_a_one_line_error(tmp_path):
    body = "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('boom')\nraise E()\n"
    refused(script(tmp_path, body), "p.py:10:", "raised E", "could not be printed")


def test_an_exit_code_that_cannot_print_itself_is_a_one_line_error(tmp_path):
    body = "class C:\n    def __repr__(self):\n        raise RuntimeError('boom')\nsys.exit(C())\n"
    refused(script(tmp_path, body), "sys.exit(", "unprintable")


def test_writes_to_file_descriptor_1_while_loading_go_to_stderr(tmp_path, capfd):
    body = ("import os\nos.write(1, b'raw\\n')\nsys.__stdout__.write('buffered\\n')\n"
            "PROOF = Proof('p', 'P', (d,))\n")
    load_proofs(script(tmp_path, body))
    print("after")  # file descriptor 1 is ours again
    out, err = capfd.readouterr()
    assert "raw" not in out and "buffered" not in out and "after" in out
    assert "raw" in err and "buffered" in err


def test_folder_collects_only_files_that_assign_proof_without_running_the_others(tmp_path):
    (tmp_path / "helper.py").write_text("open(__file__ + '.ran', 'w').write('ran')\nX = 1\n")
    (tmp_path / "notes.py").write_text("PROOF_NOTES = 'not a proof'\n")
    (tmp_path / "mine.py").write_text("from derive.notation import J\nPROOF = None\n")
    (tmp_path / "many.py").write_text("if True:\n    PROOFS = []\n")
    files, skipped = proof_files([str(tmp_path)], report_skipped=True)
    assert [f.name for f in files] == ["many.py", "mine.py"]
    assert [f.name for f in skipped] == ["helper.py", "notes.py"]
    assert not (tmp_path / "helper.py.ran").exists()  # decided by reading, never by running


def test_folder_without_any_proof_is_an_error(tmp_path):
    (tmp_path / "helper.py").write_text("X = 1\n")
    with pytest.raises(UserError, match="no file in the folder assigns PROOF"):
        proof_files([str(tmp_path)])


def test_named_file_without_proof_is_still_taken_and_refused_on_load(tmp_path):
    f = tmp_path / "helper.py"
    f.write_text("X = 1\n")
    assert proof_files([str(f)]) == [f]
    with pytest.raises(UserError, match="defines no PROOF"):
        load_proofs(f)


# -- a script imports helpers from its own folder, and only its own ---------------------------

_HELPER_USER = (
    "from derive.derivation import Derivation, Goal, Proof\n"
    "from derive.notation import J, P, R, sum_tau\n"
    "from derive.rules import definition_of_objective\n"
    "from mylemmas import TITLE\n"
    "d = Derivation.begin('d', J(), goal=Goal(J(), sum_tau(P() * R()))).by(definition_of_objective)\n"
    "PROOF = Proof('p', TITLE, (d,))\n"
)


def test_a_script_imports_a_helper_beside_it_and_the_folder_leaves_sys_path(tmp_path):
    import sys

    (tmp_path / "mylemmas.py").write_text("TITLE = 'from the helper'\n")
    (tmp_path / "uses.py").write_text(_HELPER_USER)
    before = list(sys.path)
    assert load_proofs(tmp_path / "uses.py")[0].title == "from the helper"
    assert sys.path == before and "mylemmas" not in sys.modules


def test_two_folders_with_a_helper_of_the_same_name_each_get_their_own(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mylemmas.py").write_text(f"TITLE = 'helper {name}'\n")
        (tmp_path / name / "uses.py").write_text(_HELPER_USER)
    assert load_proofs(tmp_path / "a" / "uses.py")[0].title == "helper a"
    assert load_proofs(tmp_path / "b" / "uses.py")[0].title == "helper b"


def test_a_helper_missing_from_the_folder_is_still_an_error(tmp_path):
    (tmp_path / "uses.py").write_text(_HELPER_USER)
    with pytest.raises(UserError, match="uses.py:4: the proof script raised ModuleNotFoundError"):
        load_proofs(tmp_path / "uses.py")


def test_a_reexported_proof_is_collected_and_a_main_only_one_is_not(tmp_path):
    (tmp_path / "reexport.py").write_text("from a_proof import PROOF\n")
    (tmp_path / "main_only.py").write_text("if __name__ == '__main__':\n    PROOF = None\n")
    (tmp_path / "main_else.py").write_text("if __name__ == '__main__':\n    pass\nelse:\n    PROOF = None\n")
    (tmp_path / "guarded_other.py").write_text("if __name__ == 'x':\n    PROOF = None\n")
    files, skipped = proof_files([str(tmp_path)], report_skipped=True)
    assert [f.name for f in files] == ["guarded_other.py", "main_else.py", "reexport.py"]
    assert [f.name for f in skipped] == ["main_only.py"]
