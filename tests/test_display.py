"""Every result object has a short readable str(), notebook Markdown and LaTeX, and a JSON-ready to_dict()."""

import json

import pytest

from derive.display import Displayed, plain
from derive.exact import gradient
from derive.mdpfile import parse
from derive.stats import cross_check

DOC = {"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1, "discount": 1,
       "policy": {"kind": "tabular-softmax"}, "theta": [0, 0], "name": "two arms"}


@pytest.fixture(scope="module")
def results():
    problem = parse(DOC)
    check = cross_check(problem.mdp, problem.policy, problem.theta, samples=2000, seed=1)
    exact = gradient(problem.mdp, problem.policy, problem.theta, method="enumerate")
    return {"Problem": problem, "CrossCheck": check, "Verdict": check.verdict, "Estimate": check.estimate,
            "Gradient": exact}


@pytest.mark.parametrize("name", ["Problem", "CrossCheck", "Verdict", "Estimate", "Gradient"])
def test_a_result_reads_as_text_markdown_latex_and_data(results, name):
    r = results[name]
    text = str(r)
    assert text.startswith(name) and len(text.splitlines()) >= 2
    for raw in ("array(", "Fraction(", "dtype", "<function", "=np."):
        assert raw not in text, text
    assert all(len(line) <= 140 for line in text.splitlines())
    assert r._repr_markdown_().startswith("```") and r._repr_latex_().startswith(r"$\begin{array}")
    json.dumps(r.to_dict())  # JSON-ready: every field kept


def test_exact_rationals_stay_exact_in_to_dict(results):
    data = results["Gradient"].to_dict()
    assert data["J"] == "1" and data["grad"] == ["-1/2", "1/2"] and data["method"] == "enumerate"


def test_the_loss_and_gradcheck_results_share_the_display():
    from derive.gradcheck import GradcheckResult, MDPResult
    from derive.losscheck import LossResult, MDPLossResult

    for cls in (GradcheckResult, MDPResult, LossResult, MDPLossResult):
        assert issubclass(cls, Displayed) and callable(cls._repr_latex_) and callable(cls._repr_markdown_)


def test_plain_rejects_nothing_silently_and_keeps_structure():
    from fractions import Fraction

    import numpy as np

    assert plain({"a": (Fraction(1, 3), np.array([1.5, 2.0]))}) == {"a": ["1/3", [1.5, 2.0]]}
    assert plain(float("inf")) == "inf"  # JSON has no infinity: said as text, not dropped
