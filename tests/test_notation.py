"""Every quantity of the vocabulary says to SymPy what it depends on, so that a derivative of it never vanishes by omission."""

import inspect

import pytest
import sympy as sp

from derive import notation as N
from derive.notation import gamma, theta

# θ-free given the trajectory, the state or the action (the environment, rewards, baselines, features φ).
THETA_FREE = {N.Sample, N.State, N.Action, N.InitialDistribution, N.Transition, N.Return, N.Reward,
              N.RewardProbability, N.Baseline, N.Feature, N.MeanReward}
# θ is an argument: π_θ(a|s), P(τ;θ), J(θ), J_γ(θ), N(a; θ, σ²).
THETA_ARGUMENT = {N.Policy: 2, N.TrajectoryProbability: 1, N.PathProbability: 1, N.Objective: 0, N.DiscountedObjective: 0, N.Normal: 1}
# θ is not an argument but the value depends on it (computed under π_θ on each instance).
THETA_HIDDEN = {N.Occupancy, N.QValue, N.DiscountedOccupancy, N.DiscountedQ}
# The discount γ enters these without being an argument.
GAMMA_HIDDEN = {N.Return, N.QValue, N.DiscountedObjective, N.DiscountedOccupancy, N.DiscountedQ, N.Objective}


def functions():
    return [v for k, v in vars(N).items() if inspect.isclass(v) and issubclass(v, sp.Function)
            and v.__module__ == N.__name__ and not k.startswith("_")]


def instance(cls, parameter=None):
    (n,) = cls.nargs
    args = list(sp.symbols(f"z0:{n}"))
    if parameter is not None:
        args[THETA_ARGUMENT[cls]] = parameter
    return cls(*args)


def test_every_quantity_is_classified():
    assert set(functions()) == THETA_FREE | set(THETA_ARGUMENT) | THETA_HIDDEN


@pytest.mark.parametrize("cls", sorted(THETA_HIDDEN, key=lambda c: c.__name__))
def test_hidden_theta_dependence_keeps_the_derivative(cls):
    q = instance(cls)
    assert theta in q.free_symbols
    assert sp.diff(q, theta) == sp.Derivative(q, theta) and sp.diff(q, theta) != 0
    assert q.args == tuple(sp.symbols(f"z0:{len(q.args)}"))  # the arguments are left as they are


@pytest.mark.parametrize("cls", sorted(THETA_FREE, key=lambda c: c.__name__))
def test_theta_free_quantities_have_zero_derivative(cls):
    assert sp.diff(instance(cls), theta) == 0


@pytest.mark.parametrize("cls", sorted(THETA_ARGUMENT, key=lambda c: c.__name__))
def test_theta_as_an_argument_keeps_the_derivative(cls):
    assert sp.diff(instance(cls, theta), theta) != 0


@pytest.mark.parametrize("cls", sorted(GAMMA_HIDDEN, key=lambda c: c.__name__))
def test_discount_dependence_keeps_the_derivative(cls):
    q = instance(cls, theta) if cls in THETA_ARGUMENT else instance(cls)
    assert gamma in q.free_symbols and sp.diff(q, gamma) != 0


def test_quantities_without_the_discount_have_zero_derivative_in_it():
    for cls in (N.Occupancy, N.Policy, N.Reward, N.Baseline):
        q = instance(cls, theta) if cls in THETA_ARGUMENT else instance(cls)
        assert sp.diff(q, gamma) == 0, cls.__name__


def test_nonnegative_is_probabilities_and_their_products_only():
    assert N.nonnegative(N.P() * N.pi(0) ** 2) and N.nonnegative(sp.exp(theta) * N.mu())
    assert not N.nonnegative(N.R()) and not N.nonnegative(N.P() * N.R()) and not N.nonnegative(-N.P())


# -- text is never parsed: every constructor refuses a string with derive's message -----------

from derive.notation import (J, P, R, Action, Expectation, NotationError, Sample, State, TrajectorySum, expectation,
                             fraction, grad as _grad, pi as _pi, sample_mean, sum_actions, sum_states, sum_t,
                             sum_tau, tau, unevaluated_mul)


_CASE_IDS: dict = {}


@pytest.mark.parametrize("build", [
    lambda: _grad("__import__('os').system('echo PWNED')"),
    lambda: sum_tau("P*R"),
    lambda: sum_t("pi"), lambda: sum_t(J(), upper="H"),
    lambda: sample_mean("R"), lambda: expectation("R"), lambda: sum_actions("x"), lambda: sum_states("x"),
    lambda: unevaluated_mul(P(), "R"), lambda: fraction("a", P()),
    lambda: State(tau, "1"), lambda: Action("tau", 0), lambda: Sample("i"), lambda: _pi("t"),
    lambda: TrajectorySum("x", tau, False), lambda: Expectation("x"),
], ids=lambda build: f"case-{_CASE_IDS.setdefault(id(build), len(_CASE_IDS))}")  # stable ids across xdist workers
def test_a_string_is_refused_never_parsed(build, capfd):
    with pytest.raises(NotationError, match="expected a SymPy expression, got the string"):
        build()
    assert "PWNED" not in capfd.readouterr().out
    assert issubclass(NotationError, TypeError)


def test_the_same_constructors_accept_expressions():
    from derive.notation import H, i, t
    assert str(_grad(J())) and sum_tau(P() * R()).body == P() * R()
    assert sum_t(_pi(t), upper=H - 1).args[1] == (t, 0, H - 1)
    assert sample_mean(R(Sample(i))).has(Sample(i)) and State(tau, 0) == State(tau, 0)
    assert fraction(P(), P()) != 1 and unevaluated_mul(P(), R()).args == (P(), R())
