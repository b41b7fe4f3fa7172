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
THETA_ARGUMENT = {N.Policy: 2, N.TrajectoryProbability: 1, N.Objective: 0, N.DiscountedObjective: 0, N.Normal: 1}
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
