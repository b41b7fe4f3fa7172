"""The two seeds, read from the files as they are: what derive check must find in each."""

from pathlib import Path

import pytest

from derive.read import check_text
from derive.read.document import FAILS, HOLDS, IN_EXPECTATION, NOT_SHOWN

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared" / "seeds"   # where CI puts a copy of the seeds
SEED000, SEED004 = "000_c387f8faedb148aa.txt", "004_f3d3b6a434486237.txt"


def _sources(name):
    """The corpus copy always; the shared file too when that folder exists."""
    out = [pytest.param(HERE / "corpus" / name, id="corpus")]
    out.append(pytest.param(SHARED / name, id="shared", marks=pytest.mark.skipif(
        not (SHARED / name).exists(), reason=f"{SHARED} is absent (CI puts the seeds there)")))
    return out


@pytest.fixture(scope="module")
def seed000():
    return check_text((HERE / "corpus" / SEED000).read_text(encoding="utf-8"), minimize=False)


@pytest.fixture(scope="module")
def seed004():
    return check_text((HERE / "corpus" / SEED004).read_text(encoding="utf-8"), minimize=False)


@pytest.mark.parametrize("path", _sources(SEED000))
def test_seed000_copy_is_the_seed(path):
    assert path.read_text(encoding="utf-8") == (HERE / "corpus" / SEED000).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", _sources(SEED004))
def test_seed004_copy_is_the_seed(path):
    assert path.read_text(encoding="utf-8") == (HERE / "corpus" / SEED004).read_text(encoding="utf-8")


def _at(report, line, kind=None):
    return [ln for ln in report.lines if ln.line == line and (kind is None or ln.kind == kind)]


def test_seed000_every_step_holds_and_the_estimates_hold_in_expectation_only(seed000):
    verdicts = {(ln.line, ln.column): ln.verdict for ln in seed000.lines}
    claims = [ln for ln in seed000.lines if ln.steps or ln.kind == "lemma"]
    assert claims and all(ln.verdict in (HOLDS, IN_EXPECTATION) for ln in claims), verdicts
    expectation_only = sorted({ln.line for ln in seed000.lines if ln.verdict == IN_EXPECTATION and ln.kind != "result"})
    assert expectation_only == [35, 79]      # the two displays that write the sample estimate with =
    assert not seed000.verified             # "in expectation only" is not a pass
    assert all(ln.verdict != FAILS and ln.verdict != "not understood" for ln in seed000.lines)


def test_seed000_reads_the_product_as_written(seed000):
    (line,) = _at(seed000, 45)
    assert r"\prod_{t=0}^{H} P(s_{t + 1}^{(i)} \mid s_{t}^{(i)}, a_{t}^{(i)})" in line.reading
    assert line.verdict == HOLDS
    assert any("s, a without ^{(i)}" in n for n in line.notes)   # μ(s_0) belongs to τ^(i)


def test_seed000_since_claims_are_checked(seed000):
    since = _at(seed000, 64)
    assert len(since) == 2 and all(ln.verdict == HOLDS and ln.steps for ln in since)
    assert {ln.reading for ln in since} >= {r"\nabla_\theta \mu(s_{0}) = 0"}


def test_seed000_p_over_p_lines_carry_the_side_condition(seed000):
    for ln in _at(seed000, 22) + _at(seed000, 29):
        assert ln.verdict == HOLDS
        assert any("P(τ;θ) > 0" in n for n in ln.notes)
        assert any(c.text.startswith("P(τ;θ) > 0") for st in ln.steps for c in st.conditions)


def test_seed000_update_rule_and_lemma_are_recognised(seed000):
    (update,) = _at(seed000, 5)
    assert update.kind == "update rule" and update.ok and not update.steps
    (lemma,) = _at(seed000, 24)
    assert lemma.kind == "lemma" and lemma.verdict == HOLDS and "proved symbolically" in lemma.detail


def test_seed000_results_follow_from_their_steps(seed000):
    results = [ln for ln in seed000.lines if ln.kind == "result"]
    assert results and all(ln.verdict in (HOLDS, IN_EXPECTATION) and "each of which held" in ln.detail for ln in results)


def test_seed000_log_lines_say_both_readings_and_which_held(seed000):
    for line in (29, 35, 79):
        (ln,) = [x for x in _at(seed000, line) if x.kind != "result"]
        (note,) = [n for n in ln.notes if n.startswith("two readings of \\log")]
        assert "the usual reading: holds" in note and "the other reading: fails" in note


def test_seed000_hat_g_is_defined_in_its_line(seed000):
    (final,) = _at(seed000, 79, "step")
    assert final.verdict == IN_EXPECTATION
    assert any(n.startswith(r"\hat{g} defined as \frac{1}{m}") for n in final.notes)


def test_seed004_rejects_the_factorisation_and_names_the_factor(seed004):
    first = [ln for ln in _at(seed004, 29) if ln.column == 18]
    (line,) = first
    assert line.verdict == FAILS
    assert r"breaks its pattern at P(s_{n} \mid s_{n}, a_{n})" in line.detail
    assert r"the pattern gives P(s_{n} \mid s_{n - 1}, a_{n - 1})" in line.detail
    (step,) = line.steps
    assert step.counterexample is not None and step.counterexample.lhs != step.counterexample.rhs


def test_seed004_notices_the_other_reading_of_the_same_factor(seed004):
    (line,) = [ln for ln in _at(seed004, 29) if ln.column == 268]
    assert r"breaks its pattern at P(s_{n} \mid s_{n - 1}, a_{n})" in line.detail
    assert any(r"the same factor is written P(s_{n} \mid s_{n}, a_{n}) on line 29, column 18" in n for n in line.notes)


def test_seed004_reads_the_integral_as_a_sum_over_a_finite_mdp_with_random_rewards(seed004):
    assert seed004.battery == "rewards" and seed004.base == 1
    (line,) = [ln for ln in _at(seed004, 17) if ln.column == 18]
    assert line.verdict == HOLDS
    assert r"\sum_{\tau} R(\tau) P(\tau;\theta)" in line.reading   # re-printed in the order written
    assert any("∫_τ" in n for n in line.notes)


def test_seed004_verifies_the_final_score(seed004):
    (last,) = [ln for ln in _at(seed004, 29) if ln.column == 920]
    assert last.verdict == HOLDS
    # A row starting with '=' is printed with the side it continues, the last side of the row above.
    assert last.reading == (r"(\nabla_\theta \log \mu(s_{1}) + \sum_{t=1}^{n} \left(\nabla_\theta \log \pi_{\theta}(a_{t} \mid s_{t}) "
                            r"+ \nabla_\theta \log P(r_{t} \mid a_{t}, s_{t}) + \nabla_\theta \log P(s_{t + 1} \mid s_{t}, a_{t})\right)) "
                            r"= \sum_{t=1}^{n} \nabla_\theta \log \pi_{\theta}(a_{t} \mid s_{t})")
    (result,) = [ln for ln in seed004.lines if ln.kind == "result" and ln.line == 29]
    # The chain of that display breaks at the wrong factorisation: its result is not shown by it,
    # though the steps that held lead from ∇ log π(τ|θ) to the final score without the failed side.
    assert result.verdict == NOT_SHOWN and not result.ok
    assert "line 29, column 488 fails" in result.detail and "still lead from the first left side" in result.detail
    assert result.reading.endswith(r"= \sum_{t=1}^{n} \nabla_\theta \log \pi_{\theta}(a_{t} \mid s_{t})")
    (held,) = [ln for ln in seed004.lines if ln.kind == "result" and ln.line == 25]
    assert held.verdict == HOLDS and "follows from the" in held.detail


def test_seed004_return_with_one_based_discount_holds(seed004):
    (line,) = [ln for ln in _at(seed004, 13) if ln.kind != "definition"]
    assert line.verdict == HOLDS and line.reading == r"R(\tau) = \sum_{t=1}^{n} \gamma^{t - 1} r_{t}"
