"""Reports people read: derive's notation in text, verdicts in words, one line per weakened step, notebook views."""

import numpy as np
import sympy as sp

from derive.check import verify_derivation
from derive.derivation import Derivation, Goal, Step
from derive.notation import J, P, R, Sample, expectation, factorisation, grad, i, pi, sample_mean, sum_t, sum_tau
from derive.report import PROVED, Counterexample, StepReport
from derive.symbolic import prove
from derive.text import to_text


def test_text_printer_uses_derives_notation():
    assert to_text(grad(J())) == "∇_θ J(θ)"
    assert to_text(pi()) == "π_θ(a_t|s_t)"
    assert to_text(sum_tau(grad(P()) * R())) == "Σ_τ ∇_θ P(τ;θ) R(τ)"
    assert to_text(sum_tau(P() * sum_t(grad(sp.log(pi()))), support=True)) == \
        "Σ_{τ: P(τ;θ) > 0} P(τ;θ) Σ_{t=0}^{H} ∇_θ log π_θ(a_t|s_t)"
    assert to_text(expectation(R())) == "E_{τ∼π_θ}[R(τ)]"
    assert to_text(factorisation()) == "μ(s_0) Π_{t=0}^{H} P(s_{t + 1}|s_t, a_t) π_θ(a_t|s_t)"
    estimator = sample_mean(sum_t(grad(sp.log(pi(traj=Sample(i))))) * R(Sample(i)))
    assert to_text(estimator) == "(1/m) Σ_{i=1}^{m} (Σ_{t=0}^{H} ∇_θ log π_θ(a_t^(i)|s_t^(i))) R(τ^(i))"


def test_text_printer_never_prints_sympy_spellings():
    for e in (grad(J()), sum_tau(grad(sp.log(P())) * P() * R()), grad(sp.log(factorisation()))):
        text = to_text(e)
        for raw in ("Derivative", "pi_theta", "Sum(", "Product(", "tau", "theta", "mu("):
            assert raw not in text, (raw, text)


def test_symbolic_notes_say_in_words_what_was_not_shown():
    result = prove(sum_tau(P() * R()), sum_tau(P() * R() * 2))
    assert result.status == "not proved"
    assert result.detail == "SymPy could not reduce the difference of the two sides to 0"


def _step(**kw):
    base = dict(index=3, rule="swap", why="", relation="=", verdict="checked on 20 MDPs (default; seed 0)",
                symbolic="not proved: x", instances=20)
    return StepReport(**{**base, **kw})


def test_weakened_means_less_than_a_proof_or_the_whole_battery():
    assert not _step().weakened                                  # every instance, exactly
    assert not _step(verdict=PROVED, scope="m = 5 on 4,096 random sample tuples").weakened  # proved stands alone
    assert _step(numeric_instances=3).weakened                    # agreement to 60 digits only
    assert _step(verdict="checked on 12 of 20 MDPs (default; seed 0)", instances=12).weakened
    assert _step(scope="default; seed 0; m = 7 on 4,096 random sample tuples where there are more than 200,000").weakened
    assert _step(detail="not evaluated on 2 of the 20 MDPs checked: log of zero").weakened
    assert not _step(verdict="failed").weakened                   # a failure is reported as a failure


def _failed_step(index=1):
    ce = Counterexample(instance="S=1, A=1, H=0, γ=1; θ = [0]", mdp={"initial": ["1"]}, theta=("0",),
                        lhs=("0",), rhs=("1",), reason="the two sides differ")
    return _step(index=index, verdict="failed", counterexample=ce, symbolic="not proved: …")


def test_a_failed_step_shows_its_reason_and_counterexample_everywhere():
    s = _failed_step()
    for view in (str(s), s._repr_markdown_(), s._repr_latex_()):
        assert "the two sides differ" in view and "S=1" in view, view
    md = s._repr_markdown_()
    assert md.splitlines()[0] == "| line | rule | verdict |"      # a lone step: no derivation column
    assert "| derivation |" not in md and "||" not in md
    assert s.to_dict()["counterexample"]["lhs"] == ("0",) and s.to_dict()["weakened"] is False


def test_the_stated_result_names_the_step_that_failed():
    start = grad(J())
    wrong = sum_tau(P() * R())
    d = Derivation(name="swap", start=start, goal=Goal(start, wrong), steps=(Step(wrong, "forgot the gradient", "x"),))
    report = verify_derivation(d, seed=3, minimize=False)
    assert report.steps[0].verdict == "failed"
    assert report.result.symbolic == "not proved: step 1 (forgot the gradient) failed"
    assert report.result.detail.startswith("the chain does not establish it: step 1 (forgot the gradient) failed")
    assert "failed" in str(report) and "| derivation |" in report._repr_markdown_()


def test_bare_expressions_render_with_derives_printer_in_notebooks():
    assert grad(J())._repr_latex_() == r"$\displaystyle \nabla_\theta J(\theta)$"
    assert r"\partial" not in sum_tau(grad(P()) * R())._repr_latex_()
    assert pi()._repr_latex_() == r"$\displaystyle \pi_{\theta}(a_{t} \mid s_{t})$"
    x = sp.Symbol("x")
    assert r"\frac{d}{d x}" in sp.Derivative(x ** 2, x)._repr_latex_()  # SymPy's own expressions as before


def test_gradcheck_result_has_readable_views_and_full_data():
    from derive.gradcheck import GradcheckResult, MDPResult

    m = MDPResult("small", (1, 2, 0), 0.5, 1000, np.array([0.37, -0.37]), np.array([-0.37, 0.37]),
                  np.array([0.001, 0.001]), 0.0, 0.0, theta=np.array([-1.0, 0.5]))
    r = GradcheckResult(False, 0.0, 0.01, (m,), m, seed=4)
    assert str(r).startswith("gradcheck: FAILED") and "GradcheckResult(" not in str(r)
    md = r._repr_markdown_()
    assert "| small | 1 | 2 | 0 |" in md and "| θ[0] | 0.37 | -0.37 |" in md
    assert r._repr_latex_().startswith("$$") and r"\neq" in r._repr_latex_()
    assert r.to_dict()["minimal"]["exact"] == [0.37, -0.37]


def test_proof_report_str_is_the_short_report():
    from derive.check import verify_proof
    from derive.derivation import Proof
    from derive.rules import definition_of_objective

    d = Derivation.begin("d", J(), goal=Goal(J(), sum_tau(P() * R()))).by(definition_of_objective)
    report = verify_proof(Proof("p", "A small proof", (d,)), seed=0, battery=None)
    text = str(report)
    assert text.splitlines()[0].startswith("✓ VERIFIED  A small proof") and len(text.splitlines()) == 2
    assert "ProofReport(" not in text


def test_one_mdp_is_singular_and_many_are_plural():
    from derive.report import agreement_phrase, instances_phrase, plural

    assert plural(1, "MDPs") == "MDP" and plural(2, "MDPs") == "MDPs" and plural(1, "points") == "point"
    assert agreement_phrase(1, 0, "MDPs", "") == "checked on 1 MDP" and agreement_phrase(3, 0, "MDPs", "") == "checked on 3 MDPs"
    assert instances_phrase(1) == "checked on 1 MDP" and instances_phrase(20) == "checked on 20 MDPs"


def test_a_proof_whose_line_is_undefined_at_m_1_says_its_domain_in_the_verdict():
    from derive.report import DerivationReport, ProofReport, m_domain

    domain = _step(scope_data={"m_from_defined": 2})
    plain = _step()
    d = DerivationReport(name="d", steps=(plain, domain), result=plain)
    proof = ProofReport(name="p", title="p", path="p.py", derivations=(d,))
    assert proof.verified and proof.verdict_words.startswith("VERIFIED for m ≥ 2 only — ")
    assert m_domain((plain,)) == 1 and m_domain((plain, domain)) == 2
    # A line that failed is no claim for any m: its domain says nothing of the verdict.
    assert m_domain((plain, _step(verdict="failed", scope_data={"m_from_defined": 5}))) == 1
    alone = ProofReport(name="p", title="p", path="p.py", derivations=(DerivationReport("d", (plain,), plain),))
    assert "for m" not in alone.verdict_words
