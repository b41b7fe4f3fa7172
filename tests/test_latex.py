"""The printer on each element of the seeds' notation, and whole documents through pdflatex."""

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp

import derive.latex

from derive.derivation import UNBIASED, Derivation, Goal
from derive.latex import (
    break_line, derivation_to_latex, derivation_to_mathjax, proof_to_markdown, proof_to_tex,
    text_to_latex, to_latex,
)
from derive.notation import (
    J, P, R, Sample, dynamics, factorisation, fraction, grad, i, mu, pi, ratio, s, sample_mean, sum_t,
    sum_tau, t, unevaluated_mul,
)
from derive.pdf import compile_pdf, pdflatex_path
from seed_chains import report_for, seed_000

tau_i = Sample(i)


def flat(tex: str) -> str:
    return re.sub(r"\s+", " ", tex).strip()


# -- one test per notation element: the right rendering, and a plausible wrong one rejected ----

@pytest.mark.parametrize("expr, right", [
    (grad(J()), r"\nabla_\theta J(\theta)"),
    (grad(sp.log(P())), r"\nabla_\theta \log P(\tau;\theta)"),
    (sp.Mul(P(), R()), r"P(\tau;\theta) R(\tau)"),
    (unevaluated_mul(P(), fraction(grad(P()), P()), R()),
     r"P(\tau;\theta) \frac{\nabla_\theta P(\tau;\theta)}{P(\tau;\theta)} R(\tau)"),
    (sample_mean(R(tau_i)), r"\frac{1}{m} \sum_{i=1}^{m} R(\tau^{(i)})"),
])
def test_seed_printer_where_sympys_printer_is_wrong(expr, right):
    assert to_latex(expr) == right
    assert sp.latex(expr) != right  # SymPy's own rendering (d/dθ, log{\left(, R P, …) is rejected


def test_gradient_is_nabla_theta_not_d_dtheta():
    out = to_latex(grad(J()))
    assert out == r"\nabla_\theta J(\theta)"
    assert r"\frac{d}{d\theta}" not in out and "partial" not in out


def test_gradient_of_product_is_bracketed():
    out = to_latex(grad(unevaluated_mul(P(), R())))
    assert out == r"\nabla_\theta \left[P(\tau;\theta) R(\tau)\right]"
    assert out != r"\nabla_\theta P(\tau;\theta) R(\tau)"  # would read as (∇P)·R


def test_trajectory_probability_and_sum_over_tau():
    assert to_latex(sum_tau(unevaluated_mul(P(), R()))) == r"\sum_{\tau} P(\tau;\theta) R(\tau)"
    out = to_latex(sum_tau(P(), support=True))
    assert r"P(\tau;\theta) > 0" in out and out.startswith(r"\sum_{\tau")


def test_canonical_product_is_shown_in_seed_order():
    # SymPy stores R(τ)·P(τ;θ); the seed writes P(τ;θ) R(τ).
    assert sp.Mul(P(), R()).args[0] == R()
    assert to_latex(sp.Mul(P(), R())) == r"P(\tau;\theta) R(\tau)"


def test_ratio_stays_visible():
    out = to_latex(unevaluated_mul(ratio(P()), grad(P()), R()))
    assert out == r"\frac{P(\tau;\theta)}{P(\tau;\theta)} \nabla_\theta P(\tau;\theta) R(\tau)"
    assert out != to_latex(unevaluated_mul(grad(P()), R()))  # P/P cancelled


def test_grad_p_over_p_is_not_cancelled_into_a_log():
    out = to_latex(unevaluated_mul(P(), fraction(grad(P()), P()), R()))
    assert out == r"P(\tau;\theta) \frac{\nabla_\theta P(\tau;\theta)}{P(\tau;\theta)} R(\tau)"
    assert r"\log" not in out


def test_log_of_atom_is_plain_and_of_product_bracketed():
    assert to_latex(grad(sp.log(P(tau_i)))) == r"\nabla_\theta \log P(\tau^{(i)};\theta)"
    out = to_latex(sp.log(factorisation(tau_i)))
    assert out.startswith(r"\log \left[\mu(s_{0}^{(i)}) \prod_{t=0}^{H} P(s_{t + 1}^{(i)}")
    assert r"\log{\left(" not in out  # SymPy's default form


def test_policy_and_dynamics_with_sample_superscripts():
    assert to_latex(pi(t, tau_i)) == r"\pi_{\theta}(a_{t}^{(i)} \mid s_{t}^{(i)})"
    assert to_latex(dynamics(t, tau_i)) == r"P(s_{t + 1}^{(i)} \mid s_{t}^{(i)}, a_{t}^{(i)})"
    assert "1 + t" not in to_latex(dynamics(t, tau_i))  # index printed in SymPy's reversed order
    assert to_latex(mu()) == r"\mu(s_{0})"


def test_sample_mean_is_one_over_m_then_sum():
    out = to_latex(sample_mean(unevaluated_mul(grad(sp.log(P(tau_i))), R(tau_i))))
    assert out == r"\frac{1}{m} \sum_{i=1}^{m} \nabla_\theta \log P(\tau^{(i)};\theta) R(\tau^{(i)})"
    assert not out.startswith(r"\frac{\sum")  # the whole sum over m


def test_sum_over_t_followed_by_a_factor_is_bracketed_as_in_the_text_form():
    out = to_latex(sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))))
    assert r"\sum_{i=1}^{m} \left(\sum_{t=0}^{H} \nabla_\theta \log \pi_{\theta}" in out
    # A later factor that depends on t must not look as if it were inside Σ_t.
    amb = to_latex(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(s(t, tau_i))))
    assert amb.startswith(r"\left(\sum_{t=0}^{H}")


def test_gradient_of_sum_of_logs_is_bracketed():
    body = sp.Add(sp.log(mu(tau_i)), sum_t(sp.log(dynamics(t, tau_i))), sum_t(sp.log(pi(t, tau_i))))
    out = to_latex(grad(body))
    assert out.startswith(r"\nabla_\theta \left[\log \mu(s_{0}^{(i)}) + \sum_{t=0}^{H} \log P(")
    assert out.endswith(r"\right]")


def test_unbiased_relation_is_marked():
    d = (Derivation.begin("x", grad(J()), goal=Goal(grad(J()), R(), UNBIASED))
         .claim(R(), why="w", relation=UNBIASED))
    assert r"\overset{\mathbb{E}}{=}" in derivation_to_latex(d)
    plain = Derivation.begin("x", grad(J()), goal=Goal(grad(J()), R())).claim(R(), why="w")
    assert r"\overset" not in derivation_to_latex(plain)


def test_text_becomes_ascii_latex():
    out = text_to_latex("∇_θ log f = ∇_θ f / f where P(τ;θ) > 0, 50% & τ^(i)")
    assert out.isascii()
    assert out == (r"$\nabla_\theta \log f = \nabla_\theta f / f$ where $P(\tau;\theta) > 0$, 50\% \& "
                   r"$\tau^{(i)}$")
    assert "_θ" not in out
    assert text_to_latex("policy_probabilities, s_t, a_{t+1}") == r"policy\_{}probabilities, $s_{t}, a_{t+1}$"


def test_long_line_is_broken_into_rows():
    long = sp.Add(*[unevaluated_mul(grad(sp.log(pi(k, tau_i))), R(tau_i)) for k in range(8)])
    rows = break_line(long, budget=60)
    assert len(rows) > 1
    assert all(r.startswith("+") for r in rows[1:])
    assert break_line(R(), budget=60) == [to_latex(R())]


# -- documents -----------------------------------------------------------------------------

def test_document_shows_every_line_justification_and_verdict():
    proof = seed_000()
    tex = flat(proof_to_tex(proof, report_for(proof)))
    assert tex.startswith(r"\documentclass") and r"\usepackage{amsmath,amssymb}" in tex
    assert tex.count(r"\begin{align*}") == 3 + 3  # one chain per derivation, one per result
    assert r"\frac{P(\tau;\theta)}{P(\tau;\theta)}" in tex
    assert r"\verdict{$\checkmark$ proved symbolically, checked on 20 MDPs}" in tex
    assert r"\verdict{$\times$ failed}" in tex and "Counterexample 1 in the appendix" in tex
    assert r"\section{Counterexamples}" in tex and r"$1/3 \neq 1/4$" in tex
    # The step and the result fail on the same instance: one counterexample, listed once.
    assert r"\paragraph{Result.} Counterexample 1 in the appendix." in tex
    assert tex.count(r"\subsection*{Counterexample") == 1
    assert r"Refutes line (2) and the result of \S{}3" in tex
    assert tex.isascii()


def test_document_without_report_has_no_marks():
    tex = proof_to_tex(seed_000())
    assert r"\verdict{" not in tex and "No verdicts: rendered without a verification report" in tex


def test_markdown_uses_display_blocks():
    proof = seed_000()
    md = proof_to_markdown(proof, report_for(proof))
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.M | re.S)
    assert len(blocks) == 6 + 5 + 2 + 3  # every line, and each result
    assert blocks[0] == r"\nabla_\theta J(\theta) = \nabla_\theta \sum_{\tau} P(\tau;\theta) R(\tau)"
    assert all(r"\begin" not in b and r"\\" not in b for b in blocks)  # one display per line
    assert "✓ *proved symbolically, checked on 20 MDPs*" in md and "## Appendix: counterexamples" in md
    assert "**Result.** Counterexample 1 in the appendix. — ✗ *failed*" in md
    assert md.count("### Counterexample") == 1 and "Refutes line (2) and the result of §3" in md
    assert r"$J(\theta) = \sum_\tau P(\tau;\theta) R(\tau)$" in md  # inline math, not Σ\_τ in text
    assert "## 1. Likelihood-ratio gradient" in md  # numbered, so that §1 can be found


def test_notebook_reprs():
    proof = seed_000()
    d = proof.derivations[0]
    assert d._repr_latex_().startswith("$$\n\\begin{aligned}\n\\nabla_\\theta J(\\theta) &=")
    assert d._repr_markdown_().startswith("### Likelihood-ratio gradient")
    assert proof._repr_markdown_().startswith("# The policy-gradient theorem")
    assert proof._repr_latex_().count(r"\begin{aligned}") == len(proof.derivations)
    rep = report_for(proof)
    assert "| a long line | 2 | claim | ✗ failed |" in rep._repr_markdown_()
    assert "| a long line | result | claim | ✗ failed |" in rep._repr_markdown_()
    assert rep.derivations[0]._repr_markdown_().startswith("**likelihood-ratio gradient** — verified")
    assert r"\checkmark" in rep._repr_latex_() and r"\times" in rep._repr_latex_()
    assert derivation_to_mathjax(d) == d._repr_latex_()


def _need_pdflatex():
    if pdflatex_path() is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing on CI: .ci/run installs texlive-latex-base with apt-get")
        pytest.skip("pdflatex not installed (apt-get install texlive-latex-base)")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    _need_pdflatex()
    proof = seed_000()
    pdf = tmp_path_factory.mktemp("pdf") / "seed_000.pdf"
    warnings = compile_pdf(proof_to_tex(proof, report_for(proof)), pdf)
    return pdf, warnings


def test_seed_document_compiles_without_overfull_boxes(compiled):
    pdf, warnings = compiled
    assert pdf.read_bytes().startswith(b"%PDF")
    assert warnings == []


def test_overfull_boxes_are_reported(tmp_path):
    _need_pdflatex()
    tex = "\\documentclass{article}\\begin{document}\\[" + "x+" * 200 + "x\\]\\end{document}"
    assert any("Overfull" in w for w in compile_pdf(tex, tmp_path / "wide.pdf"))


# Debian's katex package, or a KaTeX from npm named by DERIVE_KATEX; not needed by CI.
_KATEX = Path(os.environ.get("DERIVE_KATEX", "/usr/share/nodejs/katex"))
_KATEX_CHECK = """
const katex = require(process.argv[1]);
const [blocks, inline] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const bad = [];
for (const [list, displayMode] of [[blocks, true], [inline, false]]) {
  for (const b of list) {
    try { katex.renderToString(b, {displayMode, throwOnError: true}); }
    catch (e) { bad.push(b + ': ' + e.message); }
  }
}
console.log(JSON.stringify(bad));
"""


def katex_errors(blocks: list[str], inline: tuple[str, ...] = ()) -> list[str]:
    run = subprocess.run(["node", "-e", _KATEX_CHECK, str(_KATEX)], input=json.dumps([blocks, list(inline)]),
                         capture_output=True, text=True, timeout=60)
    return json.loads(run.stdout)


def inline_math(md: str) -> list[str]:
    """The $…$ formulas of Markdown text (outside $$ displays; an escaped dollar is a dollar sign)."""
    prose = re.sub(r"^\$\$\n.*?\n\$\$$", "", md, flags=re.M | re.S).replace(r"\$", "")
    return re.findall(r"\$([^$\n]+)\$", prose)


needs_katex = pytest.mark.skipif(not _KATEX.exists() or shutil.which("node") is None, reason="KaTeX not installed")


@needs_katex
def test_markdown_and_notebook_math_parse_in_katex():
    proof = seed_000()
    report = report_for(proof)
    md = proof_to_markdown(proof, report)
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.M | re.S)
    blocks += [proof.derivations[1]._repr_latex_().strip("$\n"), report._repr_latex_().strip("$\n")]
    inline = inline_math(md)
    assert len(inline) > 10 and r"J(\theta) = \sum_\tau P(\tau;\theta) R(\tau)" in inline
    assert katex_errors(blocks, inline) == []
    assert len(katex_errors([r"\nabla_\theta \left[ x", r"\frac{d}{d\theta"], [r"\sum_{"])) == 3


def test_single_derivation_marks_failures_without_pointing_to_an_appendix():
    proof = seed_000()
    report = report_for(proof)
    tex = derivation_to_latex(proof.derivations[2], report.derivations[2])
    assert r"\verdict{$\times$ failed}" in tex
    assert "appendix" not in tex


def test_powers_and_quotients_of_notation_functions():
    assert to_latex(P() ** 2) == r"P(\tau;\theta)^{2}"  # SymPy would pass exp= to the notation's printer
    assert to_latex(R() / P()) == r"\frac{R(\tau)}{P(\tau;\theta)}"
    assert to_latex(R() / P()) != r"\frac{1}{P(\tau;\theta)} R(\tau)"  # only 1/m-style factors lead
    assert to_latex(sp.log(P()) ** 2) == r"\left(\log P(\tau;\theta)\right)^{2}"


def test_violated_side_condition_and_detail_are_printed():
    from derive.report import ConditionReport

    proof = seed_000()
    report = report_for(proof)
    bad = replace(report.derivations[0].steps[2], detail="Restrict the sum to P(τ;θ) > 0.", conditions=(
        ConditionReport("P(τ;θ) > 0 on every trajectory summed", "violated on 2 of 20 instances"),
        ConditionReport("the sum is finite", "holds on all instances")))
    steps = list(report.derivations[0].steps)
    steps[2] = bad
    drep = replace(report.derivations[0], steps=tuple(steps))
    md = derive.latex.derivation_to_markdown(proof.derivations[0], drep)
    assert ("Side condition '$P(\\tau;\\theta) > 0$ on every trajectory summed': violated on 2 of 20 "
            "instances.") in md
    assert "Restrict the sum to $P(\\tau;\\theta) > 0$." in md
    assert "the sum is finite" not in md  # conditions that hold are not repeated


def test_citations_read_like_a_textbook():
    from derive.loader import load_proofs

    proof = load_proofs(Path(__file__).resolve().parent.parent / "proofs" / "policy_gradient.py")[0]
    tex = flat(proof_to_tex(proof))
    assert r"(1) By the likelihood-ratio gradient (\S{}1)." in tex
    assert r"(2) Substitute the score of a trajectory (\S{}2)." in tex
    assert "The result of" not in tex and "By likelihood-ratio gradient" not in tex  # the default why repeated
    assert r"(1) \emph{Definition of $J$.} $J(\theta)$ is the expected return" in tex  # run-in rule name
    md = proof_to_markdown(proof)
    assert "(1) By the likelihood-ratio gradient (§1)." in md and "## 3. REINFORCE estimator" in md


def test_hints_are_sentences():
    proof = seed_000()
    report = report_for(proof)
    steps = list(report.derivations[0].steps)
    steps[2] = replace(steps[2], detail="restore it by summing only over P(τ;θ) > 0 (the rule 'restrict')")
    drep = replace(report.derivations[0], steps=tuple(steps))
    md = derive.latex.derivation_to_markdown(proof.derivations[0], drep)
    assert "Restore it by summing only over $P(\\tau;\\theta) > 0$ (the rule 'restrict')." in md
    assert " restore it" not in md


def _big_counterexample():
    from derive.report import Counterexample

    S, A = 6, 3
    row = lambda: [f"{k + 1}/{21}" for k in range(S)]  # noqa: E731
    mdp = {"name": "battery #17", "initial": row(), "transitions": [[row() for _ in range(A)] for _ in range(S)],
           "rewards": [[[str(-k) for k in range(S)] for _ in range(A)] for _ in range(S)], "horizon": 5,
           "discount": "9/10", "policy": "tabular softmax (18 parameters)",
           "policy_probabilities": [["1/3"] * A for _ in range(S)]}
    tau = "(" + ", ".join(f"{v}{t}={t % 3}" for t in range(6) for v in "sa") + ", s6=0)"
    return Counterexample(instance="battery #17: S=6, A=3, H=5, γ=9/10; θ = [0, …]", mdp=mdp,
                          theta=tuple(str(k) for k in range(18)), lhs=tuple(f"-{k}/7" for k in range(18)),
                          rhs=("0",) * 18, reason="the two sides differ", bindings={"τ": tau})


def test_large_counterexample_fits_the_page(tmp_path):
    _need_pdflatex()
    proof = seed_000()
    report = report_for(proof)
    ce = _big_counterexample()
    d = report.derivations[2]
    drep = replace(d, steps=(d.steps[0], replace(d.steps[1], counterexample=ce)), result=replace(d.result, counterexample=ce))
    report = replace(report, derivations=(*report.derivations[:2], drep))
    tex = proof_to_tex(proof, report)
    assert tex.count(r"\subsection*{Counterexample") == 1
    appendix = tex.split(r"\appendix")[1]
    assert r"$\theta$ & $(0,\allowbreak 1," in appendix and "[0, " not in appendix  # one θ format
    assert compile_pdf(tex, tmp_path / "big.pdf") == []


def test_point_counterexample_is_a_table():
    from derive.report import Counterexample

    ce = Counterexample(instance="point: a = 1/2, θ = 0, σ = 1", mdp={}, theta=("a = 1/2", "θ = 0", "σ = 1"),
                        lhs=("sqrt(2)*exp(-1/8)/4",), rhs=("0",), reason="the two sides differ")
    tex = derive.latex._counterexample_tex(1, ce, [("1", 2, "the two sides differ")])
    assert r"point & $a = 1/2, \theta = 0, \sigma = 1$" in tex
    assert r"Refutes line (2) of \S{}1: the two sides differ." in tex
    assert tex.isascii()


def test_very_large_counterexample_wraps_instead_of_overflowing(tmp_path):
    _need_pdflatex()
    from derive.report import Counterexample

    S, A = 14, 4
    row = [f"{k + 1}/{105}" for k in range(S)]
    mdp = {"name": "big", "initial": row, "transitions": [[row] * A] * S,
           "rewards": [[[f"-{k}/3" for k in range(S)]] * A] * S, "horizon": 2, "discount": "1",
           "policy": "direct (56 parameters)", "policy_probabilities": [["1/4"] * A] * S}
    ce = Counterexample(instance="big", mdp=mdp, theta=("1/4",) * (S * A), lhs=(), rhs=(), reason="differ")
    tex = proof_to_tex(seed_000()).replace(r"\end{document}", "\\appendix\n" + derive.latex._counterexample_tex(
        1, ce, [("1", 1, "differ")]) + r"\end{document}")
    assert compile_pdf(tex, tmp_path / "huge.pdf") == []


def test_long_verdict_wraps_instead_of_overflowing(tmp_path):
    _need_pdflatex()
    proof = seed_000()
    report = report_for(proof)
    words = ("checked on 20 MDPs (battery: 2 ≤ S ≤ 6, 1 ≤ A ≤ 4, 0 ≤ H ≤ 7, γ ∈ {0, 1/2, 9/10, 1}, "
             "direct and softmax policies on the boundary; seed 20251201)")
    d = report.derivations[0]
    drep = replace(d, steps=tuple(replace(s, verdict=words) for s in d.steps), result=replace(d.result, verdict=words))
    report = replace(report, derivations=(drep, *report.derivations[1:]))
    tex = proof_to_tex(proof, report)
    assert r"$2 \leq S \leq 6$" in tex
    assert compile_pdf(tex, tmp_path / "long.pdf") == []


def test_a_huge_power_is_printed_as_written_without_being_evaluated():
    from derive.text import to_text

    big = sp.Mul(sp.Pow(sp.Integer(3), sp.Integer(10**9), evaluate=False), pi(), evaluate=False)
    assert "3^{1000000000}" in to_latex(big) and "3^1000000000" in to_text(big).replace(" ", "")


def test_a_sum_followed_by_a_factor_keeps_its_parentheses_as_in_the_text_form():
    from derive.notation import P, R, grad, pi, sum_t, sum_tau, unevaluated_mul
    from derive.text import to_text

    e = unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R())
    assert r"P(\tau;\theta) \left(\sum_{t=0}^{H}" in to_latex(e) and to_latex(e).endswith(r"\right) R(\tau)")
    assert "(Σ_{t=0}^{H}" in to_text(e)
    last = unevaluated_mul(P(), R(), sum_t(grad(sp.log(pi()))))  # a sum that ends the product reaches over nothing
    assert r"\left(" not in to_latex(last) and r"\left(" not in to_latex(sum_tau(unevaluated_mul(P(), R())))


def test_notebook_latex_of_a_failure_names_its_derivation_and_brackets_vectors():
    from derive.latex import report_to_latex, report_to_markdown
    from derive.report import Counterexample, DerivationReport, StepReport

    ce = Counterexample(instance="one state", mdp={}, theta=("0",), lhs=("-1/4", "1/4"), rhs=("-1/2", "1/2"),
                        reason="the two sides differ")
    bad = StepReport(index=2, rule="claim", why="", relation="=", verdict="failed", symbolic="not proved",
                     instances=0, counterexample=ce)
    good = StepReport(index=0, rule="stated result", why="", relation="=", verdict="checked on 3 MDPs",
                      symbolic="not proved", instances=3)
    report = DerivationReport(name="forgot the weight", steps=(bad,), result=good)
    tex, md = report_to_latex(report), report_to_markdown(report)
    assert r"\text{forgot the weight, line 2}\text{: }" in tex and "line 2:" not in tex.replace("line 2}", "")
    assert "[-1/4, 1/4]" in md and "[-1/2, 1/2]" in md
    lone = report_to_latex(bad)
    assert r"\text{line 2}\text{: }" in lone  # a lone step has no derivation to name


def test_a_one_word_name_is_kept_as_written_and_a_phrase_gets_a_capital():
    from derive.latex import _capital

    assert _capital("lr") == "lr"                     # an identifier, not a word to capitalise
    assert _capital("score of a trajectory") == "Score of a trajectory"
    assert _capital("") == ""


def test_a_counterexample_heading_cannot_be_split_from_its_tables():
    proof = seed_000()
    tex = proof_to_tex(proof, report_for(proof))
    appendix = tex[tex.index(r"\subsection*{Counterexample"):]
    sentence_end = appendix.index("Refutes")
    # The only break point between the sentence and the tables is the skip; a penalty forbids it.
    assert "\\nopagebreak\\smallskip\\nopagebreak" in appendix[sentence_end:appendix.index(r"\begin{tabular}")]


def test_long_exact_numbers_may_break_and_short_ones_stay_whole():
    from derive.latex import _breakable_numbers
    long = r"(\text{2175831596883552372622662300/1171846492094636922032569}, x)"
    out = _breakable_numbers(long)
    assert out == (r"(\text{2175831596}\allowbreak\text{8835523726}\allowbreak\text{22662300/}\allowbreak"
                   r"\text{1171846492}\allowbreak\text{0946369220}\allowbreak\text{32569}, x)")
    assert out.replace(r"}\allowbreak\text{", "") == long  # the digits themselves are unchanged
    assert _breakable_numbers(r"\text{124815990/1444747}") == r"\text{124815990/}\allowbreak\text{1444747}"
    short = r"\text{397/582}"
    assert _breakable_numbers(short) == short
