"""Constructs read as meant: each re-printed as derive reads it, holding when true and failing when wrong."""

from derive.read import check_text
from derive.read.document import DEFINITION, FAILS, HOLDS, NOT_UNDERSTOOD


def _check(text, **kw):
    return check_text(text, seed=kw.pop("seed", 7), n_random=kw.pop("n_random", 2), minimize=False, **kw)


def _one(latex):
    rep = _check(f"$$\n{latex}\n$$\n")
    lines = [ln for ln in rep.lines if ln.kind != "result"]
    assert len(lines) == 1, lines
    return rep, lines[0]


# -- time from 1: H is the last step ---------------------------------------------------------

def test_one_based_sum_to_h_is_the_whole_return():
    rep, ln = _one(r"R(\tau) = \sum_{t=1}^{H} \gamma^{t-1} r_t")
    assert rep.base == 1 and ln.verdict == HOLDS, ln
    assert ln.reading == r"R(\tau) = \sum_{t=1}^{n} \gamma^{t - 1} r_{t}"


def test_one_based_discount_shifted_by_one_fails():
    _, ln = _one(r"R(\tau) = \sum_{t=1}^{H} \gamma^{t} r_t")
    assert ln.verdict == FAILS


def test_one_based_sum_stopping_before_h_fails():
    _, ln = _one(r"R(\tau) = \sum_{t=1}^{H-1} \gamma^{t-1} r_t")
    assert ln.verdict == FAILS


def test_one_based_h_n_and_t_are_the_same_step():
    _, ln = _one(r"\sum_{t=1}^{H} r_t = \sum_{t=1}^{n} r_t = \sum_{t=1}^{T} r_t")
    assert ln.verdict == HOLDS
    _, ln = _one(r"\sum_{t=1}^{H} r_t = \sum_{t=1}^{n-1} r_t")
    assert ln.verdict == FAILS


def test_zero_based_h_is_unchanged():
    _, ln = _one(r"R(\tau) = \sum_{t=0}^{H} \gamma^{t} r_t")
    assert ln.verdict == HOLDS and ln.reading == r"R(\tau) = \sum_{t=0}^{H} \gamma^{t} r_{t}"
    _, ln = _one(r"R(\tau) = \sum_{t=0}^{H-1} \gamma^{t} r_t")
    assert ln.verdict == FAILS
