"""Hypothesis strategies for finite MDPs with exact tables, policies and parameter points.

Test RL code against exact answers::

    from hypothesis import given
    from derive.strategies import problems

    @given(problems())
    def test_my_gradient(problem):
        mdp, policy, point = problem
        ...

Never imported by ``derive`` itself: Hypothesis is needed only where these are used.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .mdp import FiniteMDP
from .policies import DirectPolicy, LinearSoftmax, TabularSoftmax

__all__ = ["finite_mdps", "policies", "thetas", "problems", "POLICY_KINDS"]

POLICY_KINDS = ("tabular-softmax", "linear-softmax", "direct")
_DISCOUNTS = (Fraction(1), Fraction(1, 2), Fraction(9, 10))


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < low:
        raise InvalidArgument(f"{name}={value!r} must be at least {low}")


def _check_range(name: str, lo: int, hi: int, low: int) -> None:
    _check_int(f"min_{name}", lo, low)
    _check_int(f"max_{name}", hi, low)
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo!r} is larger than max_{name}={hi!r}")


def _distributions(n: int) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """Probability vectors with small denominators; shrink towards all mass on index 0."""

    def normalise(weights: list[int]) -> tuple[Fraction, ...]:
        if not any(weights):
            weights = [1] + [0] * (n - 1)
        total = sum(weights)
        return tuple(Fraction(w, total) for w in weights)

    return st.lists(st.integers(0, 4), min_size=n, max_size=n).map(normalise)


def finite_mdps(*, min_states: int = 1, max_states: int = 3, min_actions: int = 1, max_actions: int = 2,
                min_horizon: int = 0, max_horizon: int = 3, discounts=None) -> st.SearchStrategy[FiniteMDP]:
    """Finite MDPs with exact rational tables; shrinks towards S = A = 1, H = 0, zero rewards, γ = 1.

    Tables include zero-probability transitions and stochastic μ; rewards are r(s, a, s')
    in [-3, 3] with denominators up to 3; ``discounts`` defaults to (1, 1/2, 9/10).
    """
    _check_range("states", min_states, max_states, 1)
    _check_range("actions", min_actions, max_actions, 1)
    _check_range("horizon", min_horizon, max_horizon, 0)
    gammas = tuple(_DISCOUNTS if discounts is None else discounts)
    if not gammas:
        raise InvalidArgument("discounts must not be empty")
    for g in gammas:
        if not isinstance(g, (int, Fraction)) or isinstance(g, bool) or not 0 <= g <= 1:
            raise InvalidArgument(f"discounts must be exact numbers in [0, 1], got {g!r}")

    @st.composite
    def build(draw) -> FiniteMDP:
        S = draw(st.integers(min_states, max_states))
        A = draw(st.integers(min_actions, max_actions))
        H = draw(st.integers(min_horizon, max_horizon))
        mu = draw(_distributions(S))
        tr = [[draw(_distributions(S)) for _ in range(A)] for _ in range(S)]
        reward = st.fractions(min_value=-3, max_value=3, max_denominator=3)
        rw = [[[draw(reward) for _ in range(S)] for _ in range(A)] for _ in range(S)]
        gamma = draw(st.sampled_from(gammas))
        return FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name="drawn")

    return build()


def policies(*, n_states: int, n_actions: int, kinds=POLICY_KINDS, max_features: int = 3) -> st.SearchStrategy:
    """Tabular softmax, linear softmax (integer features in [-1, 2]) or direct; shrinks to the first kind, zero features."""
    _check_int("n_states", n_states, 1)
    _check_int("n_actions", n_actions, 1)
    _check_int("max_features", max_features, 1)
    kinds = tuple(kinds)
    if not kinds or any(k not in POLICY_KINDS for k in kinds):
        raise InvalidArgument(f"kinds must be a non-empty selection of {POLICY_KINDS}, got {kinds!r}")

    def linear(K: int):
        feature = st.integers(-1, 2)
        phi = st.lists(feature, min_size=K, max_size=K).map(tuple)
        row = st.lists(phi, min_size=n_actions, max_size=n_actions).map(tuple)
        return st.lists(row, min_size=n_states, max_size=n_states).map(lambda f: LinearSoftmax(tuple(f)))

    options = {
        "tabular-softmax": st.just(TabularSoftmax(n_states, n_actions)),
        "linear-softmax": st.integers(1, max_features).flatmap(linear),
        "direct": st.just(DirectPolicy(n_states, n_actions)),
    }
    return st.one_of(*[options[k] for k in kinds])


def thetas(policy, *, interior: bool = True) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """Exact points: z = e^θ = p/q, p, q in 1..3 (softmax; shrinks to θ = 0) or one distribution per state (direct).

    A direct point shrinks towards the uniform policy when ``interior`` (all entries > 0),
    else towards a deterministic one.
    """
    if not hasattr(policy, "n_params") or not hasattr(policy, "coordinates"):
        raise InvalidArgument(f"policy={policy!r} is not a derive policy")
    if policy.coordinates == "z":
        z = st.tuples(st.integers(1, 3), st.integers(1, 3)).map(lambda pq: Fraction(pq[0], pq[1]))
        return st.lists(z, min_size=policy.n_params, max_size=policy.n_params).map(tuple)
    A = policy.n_actions
    low = 1 if interior else 0

    def normalise(weights: list[int]) -> tuple[Fraction, ...]:
        if not any(weights):
            weights = [1] + [0] * (A - 1)
        return tuple(Fraction(w, sum(weights)) for w in weights)

    row = st.lists(st.integers(low, 3), min_size=A, max_size=A).map(normalise)
    rows = st.lists(row, min_size=policy.n_states, max_size=policy.n_states)
    return rows.map(lambda rs: tuple(v for r in rs for v in r))


def problems(*, kinds=POLICY_KINDS, interior: bool = True, **mdp_options) -> st.SearchStrategy:
    """(mdp, policy, point) triples from :func:`finite_mdps`, :func:`policies` and :func:`thetas`; shrink as each of those."""
    mdps = finite_mdps(**mdp_options)
    kinds = tuple(kinds)

    @st.composite
    def build(draw):
        mdp = draw(mdps)
        policy = draw(policies(n_states=mdp.n_states, n_actions=mdp.n_actions, kinds=kinds))
        return mdp, policy, draw(thetas(policy, interior=interior))

    return build()
