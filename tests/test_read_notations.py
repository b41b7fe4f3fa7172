"""Course notations read with their meaning, or refused with a reason that names them."""

import pytest

from derive.read.document import AMBIGUOUS, FAILS, HOLDS, NOT_UNDERSTOOD, check_text


def _lines(text: str):
    report = check_text(text, path="doc.md", seed=11, n_random=4)
    return {ln.line: ln for ln in report.lines if ln.kind != "result"}


def _rows(text: str):
    return [ln for ln in check_text(text, path="doc.md", seed=11, n_random=4).lines if ln.kind != "result"]


def _one(display: str):
    (ln,) = [v for v in _lines(f"$${display}$$\n").values()]
    return ln


GRAD = r"\nabla_\theta J(\theta)"
E = r"\mathbb{E}_{\tau \sim \pi_\theta}"


def test_sample_and_step_indices_a_i_t():
    cs285 = (GRAD + r" \approx \frac{1}{N}\sum_{i=1}^{N} \sum_{t=0}^{H} \nabla_\theta \log \pi_\theta(a_{i,t} \mid s_{i,%s}) "
             r"\cdot R(\tau^{(i)})")
    right = _one(cs285 % "t")
    assert right.verdict == HOLDS, right.detail
    assert any("a_t^{(i)}" in n for n in right.notes) and any("N read as m" in n for n in right.notes)
    assert _one(cs285 % "t+1").verdict == FAILS   # the state of the next step
    swapped = _one(r"\nabla_\theta \log \pi_\theta(a_{t,i} \mid s_{t,i}) = 0")
    assert swapped.verdict == NOT_UNDERSTOOD and "a_{t,i}" in swapped.detail
    both = _one(GRAD + r" \approx \frac{1}{N}\sum_{i=1}^{m} R(\tau^{(i)})")
    assert both.verdict == NOT_UNDERSTOOD and "m and N" in both.detail


@pytest.mark.parametrize("q", [r"Q^{\pi_\theta}(s_t, a_t)", r"Q^\pi(s_t, a_t)"])
def test_the_action_value_q_pi(q):
    body = r"\sum_{t=0}^{H} %s \left(\nabla_\theta \log \pi_\theta(a_t \mid s_t)\right) " + q
    right = _one(GRAD + " = " + E + r"\left[" + body % r"\gamma^t" + r"\right]")
    assert right.verdict == HOLDS, (right.verdict, right.detail)
    assert any("Q_t(s_t, a_t)" in n for n in right.notes)
    wrong = _one(GRAD + " = " + E + r"\left[" + body % "" + r"\right]")   # γ^t dropped: false for γ < 1
    assert wrong.verdict == FAILS


@pytest.mark.parametrize("q, what", [(r"Q^\pi(s_t, a_{t+1})", "different steps"),
                                     (r"Q^\pi(s, a)", "at one step"),
                                     (r"Q^{\gamma}(s_t, a_t)", "policy π or π_θ only")])
def test_an_action_value_without_a_reading_is_refused(q, what):
    ln = _one(r"\mathbb{E}_{\tau \sim \pi_\theta}\left[" + q + r"\right] = 0")
    assert ln.verdict == NOT_UNDERSTOOD and what in ln.detail, ln.detail


@pytest.mark.parametrize("display, construct", [
    (r"J(\theta) = J(\theta) \pm 0", r"\pm"),
    (r"R(\tau) = \sum_{t=0}^{\infty} \gamma^t r_t", r"\infty"),
    (r"\left(\begin{array}{cc} 1 & 0 \\ 0 & 1 \end{array}\right) = 1", "array"),
])
def test_refused_constructs_are_named(display, construct):
    ln = _one(display)
    assert ln.verdict == NOT_UNDERSTOOD and construct in ln.detail and ln.detail.startswith("line 1, column"), ln.detail


def test_intertext_is_refused_with_its_name():
    text = (r"$$\begin{aligned} J(\theta) &= \sum_\tau P(\tau;\theta) R(\tau) \\ \intertext{and so} "
            r"\nabla_\theta J(\theta) &= \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau) \end{aligned}$$" + "\n")
    got = list(_lines(text).values())
    assert any(ln.verdict == NOT_UNDERSTOOD and r"\intertext" in ln.detail for ln in got)
    assert not all(ln.ok for ln in got)


ARRAY = (r"$$\begin{array}{rcl}" "\n"
         r"\nabla_\theta J(\theta) & = & \nabla_\theta \sum_\tau P(\tau;\theta) R(\tau) \\" "\n"
         r"& = & \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau) %s" "\n"
         r"\end{array}$$" "\n")


def test_an_array_of_equations_is_read_row_by_row():
    right = _lines(ARRAY % "")
    assert [right[n].verdict for n in (2, 3)] == [HOLDS, HOLDS]
    wrong = _lines(ARRAY % "+ 1")
    assert wrong[2].verdict == HOLDS and wrong[3].verdict == FAILS


def test_thick_space_around_a_relation_is_spacing():
    chain = _one(r"J(\theta) \;=\; \sum_\tau P(\tau;\theta) R(\tau) \;=\; \sum_\tau R(\tau) P(\tau;\theta)")
    assert chain.verdict == HOLDS
    wrong = _one(r"J(\theta) \;=\; \sum_\tau P(\tau;\theta) R(\tau) \;=\; 2 \sum_\tau R(\tau) P(\tau;\theta)")
    assert wrong.verdict == FAILS
    # Between two equations it is still refused: two equations, or a product?
    gap = _one(r"J(\theta) = 0 \; J(\theta) = 0")
    assert gap.verdict == NOT_UNDERSTOOD and "between two relations" in gap.detail


ALIGNEDAT = (r"$$\begin{alignedat}{2} \nabla_\theta J(\theta) &= \nabla_\theta \sum_\tau P(\tau;\theta) R(\tau) "
             r"&\quad& \text{def} \\ &= \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau) %s && \text{swap} "
             r"\end{alignedat}$$" "\n")


def test_alignedat_with_a_text_column_reads_the_justifications():
    right = _rows(ALIGNEDAT % "")
    assert [ln.verdict for ln in right] == [HOLDS, HOLDS], [(ln.verdict, ln.detail) for ln in right]
    assert [ln.justification for ln in right] == ["def", "swap"]
    wrong = _rows(ALIGNEDAT % "+ 1")
    assert [ln.verdict for ln in wrong] == [HOLDS, FAILS]
