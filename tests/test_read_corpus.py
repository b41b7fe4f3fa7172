"""The corpus: derivations in several styles, each correct as written and with one wrong line.

derive must pass every line of a correct version, and flag exactly the wrong line of a
wrong one (the lines after it are checked against the last line that held).
"""

from pathlib import Path

import pytest

from derive.read import check_text

CORPUS = Path(__file__).parent / "corpus"
STYLES = ["likelihood_ratio.md", "score_one_based.tex", "reward_to_go.md", "baseline.md",
          "course_notation.tex", "product_dots.md"]

# (file, text as written, the same text made wrong): one wrong line each.
WRONG = [
    ("likelihood_ratio.md", r"$$= \sum_\tau P(\tau;\theta) \nabla_\theta \log P(\tau;\theta) R(\tau)$$",
     r"$$= \sum_\tau \nabla_\theta \log P(\tau;\theta) R(\tau)$$"),
    ("score_one_based.tex", r"&= \sum_{t=1}^{T} \nabla_\theta \log \pi_\theta(a_t \mid s_t)",
     r"&= \sum_{t=1}^{T} \nabla_\theta \log \pi_\theta(a_t \mid s_{t+1})"),
    ("reward_to_go.md", r"\sum_{t'=t}^{H}", r"\sum_{t'=t+1}^{H}"),
    ("baseline.md", r"\left(R(\tau) - b(s_t)\right)", r"\left(R(\tau) - b(s_{t+1})\right)"),
    ("course_notation.tex", r"\grad J(\pi_\theta) &= \sum_\tau \grad P(\tau|\theta) R(\tau)",
     r"\grad J(\pi_\theta) &= \sum_\tau \grad P(\tau|\theta)"),
    ("product_dots.md", r"P(s_n \mid s_{n-1}, a_{n-1})", r"P(s_n \mid s_n, a_{n-1})"),
    # the break in the first terms, before \dots
    ("product_dots.md", r"\pi(a_2 \mid s_2, \theta) \dots", r"\pi(a_2 \mid s_1, \theta) \dots"),
]
WRONG_SLOW = [
    ("likelihood_ratio.md", r"\nabla_\theta \log P(\tau^{(i)};\theta) R(\tau^{(i)})$$",
     r"\nabla_\theta P(\tau^{(i)};\theta) R(\tau^{(i)})$$"),
    ("score_one_based.tex", r"&= \int_\tau \nabla_\theta P(\tau|\theta) R(\tau) \, d\tau",
     r"&= \int_\tau \nabla_\theta P(\tau|\theta) \, d\tau"),
    ("baseline.md", r"\log \pi_\theta(a_t \mid s_t) b(s_t)\right] = 0", r"\log \pi_\theta(a_t \mid s_t) b(s_{t+1})\right] = 0"),
    ("course_notation.tex", r"&= \sum_{t=0}^{H} \grad \log \pi_\theta(a_t \mid s_t).",
     r"&= \sum_{t=0}^{H} \grad \log P(s_{t+1} \mid s_t, a_t)."),
]


def _check(text):
    return check_text(text, n_random=4, minimize=False)


@pytest.mark.parametrize("name", STYLES)
def test_correct_version_holds_line_by_line(name):
    report = _check((CORPUS / name).read_text(encoding="utf-8"))
    bad = [(ln.line, ln.verdict, ln.detail) for ln in report.lines if not ln.ok]
    assert report.verified and not bad, bad
    assert any(ln.verdict == "holds" and ln.steps for ln in report.lines)


def _flags_exactly(name, right, wrong):
    text = (CORPUS / name).read_text(encoding="utf-8")
    assert text.count(right) == 1, f"{name}: the text to make wrong must occur once"
    line = text[:text.index(right)].count("\n") + 1 + right.count("\n")
    report = _check(text.replace(right, wrong))
    flagged = {ln.line for ln in report.lines if not ln.ok and ln.kind != "result"}
    assert flagged == {line}, [(ln.line, ln.verdict, ln.detail) for ln in report.lines if not ln.ok]
    # A chain through the wrong line does not show its result, and its result row names that line.
    for res in (ln for ln in report.lines if ln.kind == "result" and not ln.ok):
        assert f"line {line}, column" in res.detail, res.detail
    failing = [ln for ln in report.lines if ln.line == line and ln.kind != "result"]
    assert failing and all(ln.verdict == "fails" for ln in failing)
    assert any(st.counterexample is not None for ln in failing for st in ln.steps)


@pytest.mark.parametrize("name,right,wrong", WRONG, ids=[f"{w[0]}-{k}" for k, w in enumerate(WRONG)])
def test_wrong_line_is_the_one_flagged(name, right, wrong):
    _flags_exactly(name, right, wrong)


@pytest.mark.slow
@pytest.mark.parametrize("name,right,wrong", WRONG_SLOW, ids=[w[0] for w in WRONG_SLOW])
def test_more_wrong_lines_are_the_ones_flagged(name, right, wrong):
    _flags_exactly(name, right, wrong)


def test_a_break_in_the_first_terms_is_named_with_its_line():
    text = (CORPUS / "product_dots.md").read_text(encoding="utf-8")
    wrong = text.replace(r"\pi(a_2 \mid s_2, \theta) \dots", r"\pi(a_2 \mid s_1, \theta) \dots")
    (line,) = [ln for ln in _check(wrong).lines if ln.line == 3 and ln.kind != "result"]
    assert line.verdict == "fails"
    assert r"breaks its pattern at \pi_{\theta}(a_{2} \mid s_{1})" in line.detail
    assert r"the pattern gives \pi_{\theta}(a_{2} \mid s_{2})" in line.detail
