"""The mutation suite: for every rule, plausible wrong versions of its step, each rejected.

Each mutant replaces the line a rule produces in the seed-000 chain. The checker must fail
that step, under the rule's name, with a counterexample that Hypothesis has minimised.
"""

import pytest
import sympy as sp

from derive import rules as R_
from derive.battery import default_battery
from derive.check import check_step
from derive.notation import (
    H, J, P, R, Policy, Sample, State, baseline, dynamics, fraction, gamma, grad, i, m, mu, pi, prod_t, r, ratio,
    reward_to_go, sample_mean, sum_t, sum_tau, t, theta, u, unevaluated_mul, Action,
)

TI = Sample(i)
BATTERY = default_battery(n_random=4)
NEG = sp.Integer(-1)


def log_pi(k=t, traj=TI):
    return sp.log(pi(k, traj))


# The correct chains of seed 000, as (rule, line before the rule) pairs.
CHAIN_A = [
    R_.definition_of_objective, R_.swap_gradient_and_sum, R_.pull_out_theta_free_factor, R_.restrict_to_support,
    R_.multiply_by_ratio, R_.regroup, R_.log_derivative_trick, R_.sample_estimator,
]
CHAIN_B = [R_.factorise_trajectory_probability, R_.log_of_product, R_.gradient_of_sum, R_.drop_theta_free_terms,
           R_.swap_gradient_and_sum]


def before(rule, chain, start):
    line = start
    for r in chain:
        if r is rule:
            return line
        line = r(line)
    raise AssertionError(rule.name)


CHAIN_C = [R_.expand_return, R_.distribute_over_time_sum, R_.causality, R_.subtract_baseline]

A0 = grad(J())
C0 = sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R()), support=True)


def score_times(g):
    """Σ_τ⁺ P Σ_t ∇log π_θ(a_t|s_t) g_t."""
    return sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), g))), support=True)


def disc(lo, hi=H, power=u):
    return sp.Sum(unevaluated_mul(gamma ** power, r(u)), (u, lo, hi))

B0 = grad(sp.log(P(TI)))
S = dict(support=True)
THREE_LOGS = (sp.log(mu(TI)), sum_t(sp.log(dynamics(t, TI))), sum_t(log_pi()))

MUTANTS = {
    # rule: (chain, start, [(kind of slip, wrong line), ...])
    "definition of J": (CHAIN_A, A0, [
        ("dropped factor P(τ;θ)", grad(sum_tau(R()))),
        ("sign flip", grad(sum_tau(unevaluated_mul(NEG, P(), R())))),
        ("extra factor R(τ)", grad(sum_tau(unevaluated_mul(P(), R(), R())))),
    ]),
    "gradient–sum swap": (CHAIN_A, A0, [
        ("dropped factor R(τ)", sum_tau(grad(P()))),
        ("sign flip", sum_tau(unevaluated_mul(NEG, grad(P() * R())))),
        ("∇ on one factor only, other factor doubled", sum_tau(unevaluated_mul(grad(P()), P(), R()))),
    ]),
    "constant factor": (CHAIN_A, A0, [
        ("pulled out the wrong factor", sum_tau(unevaluated_mul(grad(R()), P()))),
        ("dropped factor R(τ)", sum_tau(grad(P()))),
        ("extra factor P(τ;θ)", sum_tau(unevaluated_mul(grad(P()), R(), P()))),
    ]),
    "restrict to the support": (CHAIN_A, A0, [
        ("extra factor P(τ;θ)", sum_tau(unevaluated_mul(grad(P()), R(), P()), **S)),
        ("sign flip", sum_tau(unevaluated_mul(NEG, grad(P()), R()), **S)),
        ("dropped ∇", sum_tau(unevaluated_mul(P(), R()), **S)),
    ]),
    "multiply by P/P": (CHAIN_A, A0, [
        ("multiplied by P instead of P/P", sum_tau(unevaluated_mul(P(), grad(P()), R()), **S)),
        ("dropped factor R(τ)", sum_tau(unevaluated_mul(ratio(P()), grad(P())), **S)),
        ("P/P over every trajectory, not only the support", sum_tau(unevaluated_mul(ratio(P()), grad(P()), R()))),
    ]),
    "regroup": (CHAIN_A, A0, [
        ("dropped factor R(τ)", sum_tau(unevaluated_mul(P(), fraction(grad(P()), P())), **S)),
        ("divided twice", sum_tau(unevaluated_mul(P(), fraction(grad(P()), P() * P()), R()), **S)),
        ("dropped factor P(τ;θ)", sum_tau(unevaluated_mul(fraction(grad(P()), P()), R()), **S)),
    ]),
    "log-derivative trick": (CHAIN_A, A0, [
        ("dropped weight P(τ;θ)", sum_tau(unevaluated_mul(grad(sp.log(P())), R()), **S)),
        ("extra factor P(τ;θ)", sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R(), P()), **S)),
        ("sign flip", sum_tau(unevaluated_mul(NEG, P(), grad(sp.log(P())), R()), **S)),
    ]),
    "sample estimator": (CHAIN_A, A0, [
        ("kept the weight P(τ^(i);θ)", sample_mean(unevaluated_mul(P(TI), grad(sp.log(P(TI))), R(TI)))),
        ("dropped factor R(τ^(i))", sample_mean(grad(sp.log(P(TI))))),
        ("off by one in the normalisation", unevaluated_mul(1 / (m + 1), sp.Sum(unevaluated_mul(
            grad(sp.log(P(TI))), R(TI)), (i, 1, m)))),
    ]),
    "trajectory probability": (CHAIN_B, B0, [
        ("horizon off by one (t < H)", grad(sp.log(mu(TI) * prod_t(dynamics(t, TI) * pi(t, TI), upper=H - 1)))),
        ("dropped the policy factor", grad(sp.log(mu(TI) * prod_t(dynamics(t, TI))))),
        ("time index off by one", grad(sp.log(mu(TI) * prod_t(dynamics(t, TI) * pi(t + 1, TI))))),
    ]),
    "log of a product": (CHAIN_B, B0, [
        ("horizon off by one in a sum", grad(sp.Add(THREE_LOGS[0], THREE_LOGS[1], sum_t(log_pi(), upper=H - 1)))),
        ("dropped the policy term", grad(sp.Add(THREE_LOGS[0], THREE_LOGS[1]))),
        ("sign flip", grad(sp.Add(THREE_LOGS[0], THREE_LOGS[1], -THREE_LOGS[2]))),
    ]),
    "linearity of ∇": (CHAIN_B, B0, [
        ("sign flip", sp.Add(grad(THREE_LOGS[0]), grad(THREE_LOGS[1]), -grad(THREE_LOGS[2]))),
        ("∇ missing on one term", sp.Add(grad(THREE_LOGS[0]), grad(THREE_LOGS[1]), THREE_LOGS[2])),
        ("term counted twice", sp.Add(grad(THREE_LOGS[0]), grad(THREE_LOGS[1]), 2 * grad(THREE_LOGS[2]))),
    ]),
    "drop θ-free terms": (CHAIN_B, B0, [
        ("dropped the policy term instead", sp.Add(grad(THREE_LOGS[0]), grad(THREE_LOGS[1]))),
        ("sign flip", -grad(THREE_LOGS[2])),
        ("extra factor 2", 2 * grad(THREE_LOGS[2])),
    ]),
    "definition of R": (CHAIN_C, C0, [
        ("discount dropped", sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), sp.Sum(r(u), (u, 0, H))),
                                     support=True)),
        ("γ one power too high", sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), disc(0, power=u + 1)),
                                         support=True)),
        ("horizon off by one", sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), disc(0, H - 1)),
                                       support=True)),
    ]),
    "distribute over Σ_t": (CHAIN_C, C0, [
        ("dropped the return", sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi())))), support=True)),
        ("return counted twice", score_times(unevaluated_mul(disc(0), disc(0)))),
        ("weight moved inside too, and kept outside", sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(
            grad(sp.log(pi())), disc(0), P()))), support=True)),
    ]),
    "causality": (CHAIN_C, C0, [
        ("reward-to-go shifted by one step", score_times(disc(t + 1))),
        ("kept the past rewards instead", score_times(disc(0, t))),
        ("discounted from t (γ^(u−t)): biased", score_times(disc(t, power=u - t))),
    ]),
    "baseline": (CHAIN_C, C0, [
        ("baseline of the next state (depends on a_t)", score_times(reward_to_go() - baseline(t + 1))),
        ("immediate reward as baseline (depends on a_t)", score_times(reward_to_go() - r(t))),
        ("baseline outside the score", sp.Add(score_times(reward_to_go()),
                                             -sum_tau(unevaluated_mul(P(), baseline(0)), support=True))),
    ]),
    "gradient–sum swap (Σ_t)": (CHAIN_B, B0, [
        ("horizon off by one", sum_t(grad(log_pi()), upper=H - 1)),
        ("dropped the log", sum_t(grad(pi(t, TI)))),
        ("state index off by one", sum_t(grad(sp.log(Policy(Action(TI, t), State(TI, t + 1), theta))))),
        ("∇ of the sum outside, then the sum again", sum_t(grad(sum_t(log_pi())))),
    ]),
}


def _rule_for(name):
    base = name.split(" (")[0]
    return next(r for r in R_.ALL_RULES if r.name == base)


def _line_before(name):
    chain, start, _ = MUTANTS[name]
    rule = _rule_for(name)
    if name == "gradient–sum swap (Σ_t)":
        return R_.drop_theta_free_terms(before(R_.drop_theta_free_terms, chain, start))
    return before(rule, chain, start)


CASES = [(name, slip, wrong) for name, (_, _, muts) in MUTANTS.items() for slip, wrong in muts]


def test_every_rule_has_at_least_three_mutants():
    names = {n.split(" (")[0] for n in MUTANTS}
    assert names == {r.name for r in R_.ALL_RULES}
    assert all(len(muts) >= 3 for _, _, muts in MUTANTS.values())


@pytest.mark.parametrize("name, slip, wrong", CASES, ids=[f"{n}: {s}" for n, s, _ in CASES])
def test_mutant_is_rejected_at_its_step(name, slip, wrong):
    rule = _rule_for(name)
    prev = _line_before(name)
    assert rule(prev) != wrong, "a mutant must differ from the rule's own line"
    report = check_step(prev, wrong, relation=rule.relation, rule=rule.name, battery=BATTERY)
    assert report.verdict == "failed", (slip, report)
    assert report.rule == rule.name
    ce = report.counterexample
    assert ce is not None, report
    # Minimal: found by the search, or a battery instance already of the smallest size (one state,
    # H = 0, at most two parameters), which the search keeps as it is. The battery is fresh per run.
    already_minimal = (len(ce.mdp["initial"]) == 1 and ce.mdp["horizon"] == 0 and len(ce.theta) <= 2)
    assert ce.instance.startswith("minimal (Hypothesis)") or already_minimal, ce


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_correct_line_passes_where_the_mutants_fail(name):
    rule = _rule_for(name)
    prev = _line_before(name)
    right = R_.swap_gradient_and_sum(prev) if name == "gradient–sum swap (Σ_t)" else rule(prev)
    report = check_step(prev, right, relation=rule.relation, rule=rule.name, battery=BATTERY)
    assert report.ok, report
