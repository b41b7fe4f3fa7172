"""The SymPy objects of the policy-gradient theorem, in the general form.

θ is the policy parameter, τ a trajectory (s_0, a_0, …, s_H, a_H, s_{H+1}), H the
horizon (symbolic), τ^(i) the i-th of m sampled trajectories. μ, P(s'|s,a) and π_θ are
abstract functions; only the instance check gives them tables. ∇_θ is ``Derivative(·, θ)``.
"""

from __future__ import annotations

import sympy as sp
from sympy import Derivative, Expr, Function, Product, Rational, Sum, Symbol

from .errors import UserError

__all__ = [
    "theta", "tau", "t", "u", "i", "m", "H", "gamma", "b", "c", "x",
    "Sample", "State", "Action", "InitialDistribution", "Transition", "Policy",
    "TrajectoryProbability", "PathProbability", "Return", "Objective", "TrajectorySum", "PathSum", "marginal_sums", "Reward", "Baseline", "ActionSum",
    "RewardProbability", "Expectation", "SampleExpectation", "StateSum", "Occupancy", "QValue", "Feature", "MeanReward", "Normal",
    "DiscountedObjective", "DiscountedOccupancy", "DiscountedQ",
    "action", "sigma", "w", "k0", "k1", "k2",
    "r", "baseline", "sum_actions", "discounted_return", "reward_to_go", "reward_probability", "expectation",
    "factorisation_with_rewards", "sum_states", "d", "Q",
    "s", "a", "mu", "dynamics", "pi", "P", "R", "J", "grad", "sum_tau", "sum_t",
    "prod_t", "sample_mean", "ratio", "fraction", "factorisation", "unevaluated_mul", "STRUCTURE",
    "PROBABILITIES", "nonnegative", "NotationError",
]

theta = Symbol("theta", real=True)
tau = Symbol("tau")
t = Symbol("t", integer=True, nonnegative=True)
i = Symbol("i", integer=True, positive=True)
m = Symbol("m", integer=True, positive=True)
H = Symbol("H", integer=True, nonnegative=True)
u = Symbol("u", integer=True, nonnegative=True)   # a second time index (t' in reward-to-go)
gamma = Symbol("gamma", positive=True)             # the discount factor γ
b = Symbol("b", integer=True, nonnegative=True)    # an action bound by Σ_b
x = Symbol("s", integer=True, nonnegative=True)    # a state: a statement "for every state s"
c = Symbol("c", integer=True, nonnegative=True)    # a second action, bound by Σ_c


class NotationError(UserError, TypeError):
    """Text (or another non-expression) given where derive's notation needs a SymPy expression."""


def _no_text(value, where: str):
    """value itself; a string is refused, never parsed (sympify would eval it)."""
    if isinstance(value, str):
        raise NotationError(f"{where}: expected a SymPy expression, got the string {value!r} "
                            "(derive never parses text: build it from derive.notation, e.g. grad(J()))")
    return value


def _body(value, where: str) -> Expr:
    """value as a SymPy expression: text refused, anything SymPy cannot take without parsing refused."""
    try:
        return sp.sympify(_no_text(value, where), strict=True)
    except sp.SympifyError:
        raise NotationError(f"{where}: expected a SymPy expression, got {type(value).__name__}") from None


class _NoText:
    """Function subclasses of the notation refuse string arguments (SymPy's Function would parse them)."""

    __slots__ = ()

    def __new__(cls, *args, **options):
        for k, value in enumerate(args):
            _no_text(value, f"{cls.__name__} argument {k + 1}")
        return super().__new__(cls, *args, **options)


class Sample(_NoText, Function):
    """τ^(i): the i-th sampled trajectory."""

    nargs = 1

    def _latex(self, printer):
        return r"\tau^{(%s)}" % printer._print(self.args[0])

    def _sympystr(self, printer):
        return "tau^(%s)" % printer._print(self.args[0])


def _superscript(traj, printer) -> str:
    if isinstance(traj, Sample):
        return "^{(%s)}" % printer._print(traj.args[0])
    return "" if traj == tau else "^{[%s]}" % printer._print(traj)


def _plain_superscript(traj, printer) -> str:
    if isinstance(traj, Sample):
        return "^(%s)" % printer._print(traj.args[0])
    return "" if traj == tau else "[%s]" % printer._print(traj)


class _Printed(_NoText, Function):
    """A function printed from two format strings, one for LaTeX and one for plain text."""

    latex_form = ""
    plain_form = ""
    printed: tuple = ()  # which arguments appear (default: all, in order)

    def _shown(self, printer):
        picks = self.printed or range(len(self.args))
        return tuple(printer._print(self.args[k]) for k in picks)

    def _latex(self, printer):
        return self.latex_form % self._shown(printer)

    def _sympystr(self, printer):
        return self.plain_form % self._shown(printer)


class _Depends(_NoText, Function):
    """A quantity whose value depends on parameters that are not among its arguments (θ, γ).

    SymPy sees the dependence through ``free_symbols`` and keeps ∂/∂θ of it as an unevaluated
    derivative instead of 0; the arguments stay as they are.
    """

    depends_on: tuple = ()

    @property
    def free_symbols(self):
        return super().free_symbols | set(self.depends_on)

    def _eval_derivative(self, s):
        if s in self.depends_on and s not in super().free_symbols:
            return Derivative(self, s, evaluate=False)
        return super()._eval_derivative(s)


class _StepOf(_NoText, Function):
    """A quantity of a trajectory at step k: letter_k, with ^(i) for a sample τ^(i)."""

    nargs = 2
    letter = ""

    def _latex(self, printer):
        traj, k = self.args
        return "%s_{%s}%s" % (self.letter, printer._print(k), _superscript(traj, printer))

    def _sympystr(self, printer):
        traj, k = self.args
        step = printer._print(k) if k.is_Atom else printer.parenthesize(k, 1000)
        return "%s_%s%s" % (self.letter, step, _plain_superscript(traj, printer))


class State(_StepOf):
    """s_t of a trajectory: State(τ, t)."""

    letter = "s"


class Action(_StepOf):
    """a_t of a trajectory: Action(τ, t)."""

    letter = "a"


class InitialDistribution(_Printed):
    """μ(s): the initial state distribution (θ-free)."""

    nargs = 1
    latex_form = r"\mu(%s)"
    plain_form = "mu(%s)"


class Transition(_Printed):
    """P(s' | s, a): the dynamics (θ-free)."""

    nargs = 3
    latex_form = r"P(%s \mid %s, %s)"
    plain_form = "P(%s | %s, %s)"


class Policy(_Printed):
    """π_θ(a | s): Policy(a, s, θ)."""

    nargs = 3
    latex_form = r"\pi_{\theta}(%s \mid %s)"
    plain_form = "pi_theta(%s | %s)"
    printed = (0, 1)


class TrajectoryProbability(_Printed):
    """P(τ; θ): the probability of a trajectory under π_θ."""

    nargs = 2
    latex_form = r"P(%s;\theta)"
    plain_form = "P(%s; theta)"
    printed = (0,)


class PathProbability(TrajectoryProbability):
    """P(τ; θ) of τ's states and actions alone: its rewards marginalised (μ(s_0) Π_t π_θ P(s_{t+1}|s_t,a_t)).

    The same as P(τ; θ) when rewards are deterministic; where trajectories record random rewards,
    it is what the factorisation without the factors P(r_t|s_t,a_t) means.
    """


class Return(_Depends, _Printed):
    """R(τ): the (discounted) return of a trajectory (θ-free; a function of γ)."""

    depends_on = (gamma,)

    nargs = 1
    latex_form = r"R(%s)"
    plain_form = "R(%s)"


class Reward(_StepOf):
    """r_t = r(s_t, a_t, s_{t+1}) of a trajectory, or the reward drawn at step t: Reward(τ, t) (θ-free)."""

    letter = "r"


class RewardProbability(_NoText, Function):
    """P(r_t | a_t, s_t): the probability of the reward drawn at step t (θ-free; seed 004)."""

    nargs = 2

    def _latex(self, printer):
        traj, k = self.args
        sup = _superscript(traj, printer)
        kk = printer._print(k)
        return r"P(r_{%s}%s \mid a_{%s}%s, s_{%s}%s)" % (kk, sup, kk, sup, kk, sup)

    def _sympystr(self, printer):
        traj, k = self.args
        sup = _plain_superscript(traj, printer)
        kk = printer._print(k)
        return "P(r_%s%s | a_%s%s, s_%s%s)" % (kk, sup, kk, sup, kk, sup)


class _Binder(Expr):
    """An expression whose first argument is a body and second a variable it binds (Σ, E)."""

    @property
    def body(self) -> Expr:
        return self.args[0]

    @property
    def variable(self) -> Symbol:
        return self.args[1]

    @property
    def free_symbols(self):
        return self.body.free_symbols - {self.variable}

    def _eval_is_commutative(self):
        return True


class Expectation(_Binder):
    """E_{τ∼π_θ}[body]: the expectation over trajectories, Σ_{τ: P(τ;θ)>0} P(τ;θ) body."""

    def __new__(cls, body, traj=tau):
        return Expr.__new__(cls, _body(body, cls.__name__), traj)

    @property
    def free_symbols(self):
        return super().free_symbols | {theta}  # the weight P(τ;θ) depends on θ

    def as_sum(self) -> Expr:
        """The meaning: Σ_{τ: P(τ;θ)>0} P(τ;θ) body."""
        return TrajectorySum(sp.Mul(TrajectoryProbability(self.variable, theta), self.body, evaluate=False),
                             self.variable, True)

    def _latex(self, printer):
        return r"\mathbb{E}_{%s \sim \pi_{\theta}}\left[%s\right]" % (
            printer._print(self.variable), printer._print(self.body))

    def _sympystr(self, printer):
        return "E_{%s~pi_theta}[%s]" % (printer._print(self.variable), printer._print(self.body))


class SampleExpectation(Expr):
    """E[body] written without a subscript: the expectation over all the randomness of its argument.

    The argument is E_{τ∼π_θ}[body]; the samples τ^(1), τ^(2), … in body are averaged too, i.i.d.
    ∼ P(·;θ) and independent of τ. Without samples in body (and no name still to be replaced) it is
    that E_{τ∼π_θ}[body] itself.
    """

    def __new__(cls, inner):
        inner = _body(inner, cls.__name__)
        if not isinstance(inner, Expectation):
            raise NotationError("SampleExpectation takes an Expectation over τ")
        if not inner.has(Sample) and not any(type(a).__name__ == "HatName" for a in inner.atoms(Symbol)):
            return inner
        return Expr.__new__(cls, inner)

    @property
    def inner(self) -> Expr:
        return self.args[0]

    def _eval_is_commutative(self):
        return True

    def _latex(self, printer):
        return r"\mathbb{E}\left[%s\right]" % printer._print(self.inner.body)

    def _sympystr(self, printer):
        return "E[%s]" % printer._print(self.inner.body)


class Baseline(_Printed):
    """b(s): a baseline, any θ-free function of the state."""

    nargs = 1
    latex_form = r"b(%s)"
    plain_form = "b(%s)"


class ActionSum(_Binder):
    """Σ_b body: a sum over every action b (body written with the action symbol)."""

    def __new__(cls, body, var=b):
        return Expr.__new__(cls, _body(body, cls.__name__), var)

    def _latex(self, printer):
        return r"\sum_{%s} %s" % (printer._print(self.variable), printer._print(self.body))

    def _sympystr(self, printer):
        return "Sum_{%s}(%s)" % (printer._print(self.variable), printer._print(self.body))


class StateSum(ActionSum):
    """Σ_s body: a sum over every state s (body written with the state symbol)."""

    def __new__(cls, body, var=None):
        return Expr.__new__(cls, _body(body, cls.__name__), x if var is None else var)


class Occupancy(_Depends, _Printed):
    """d_t(s) = P(s_t = s): the probability of being in state s at step t under π_θ."""

    depends_on = (theta,)

    nargs = 2
    latex_form = r"d_{%s}(%s)"
    plain_form = "d_%s(%s)"


class QValue(_Depends, _Printed):
    """Q_t(s, a) = E[Σ_{u≥t} γ^(u−t) r_u | s_t = s, a_t = a] under π_θ."""

    depends_on = (theta, gamma)

    nargs = 3
    latex_form = r"Q_{%s}(%s, %s)"
    plain_form = "Q_%s(%s, %s)"


class Feature(_Printed):
    """φ(s, a) = ∇_θ of the logit of a softmax policy: one-hot e_{s,a} for tabular, the features for linear."""

    nargs = 2
    latex_form = r"\phi(%s, %s)"
    plain_form = "phi(%s, %s)"


class MeanReward(_Printed):
    """r̄(s, a) = Σ_s' P(s'|s,a) r(s,a,s'): the expected reward of one step (θ-free)."""

    nargs = 2
    latex_form = r"\bar{r}(%s, %s)"
    plain_form = "rbar(%s, %s)"


class Normal(_NoText, Function):
    """N(a; μ, σ²): the Gaussian density of a continuous action a with mean μ and standard deviation σ."""

    nargs = 3

    def explicit(self) -> Expr:
        """The density written out: exp(−(a−μ)²/(2σ²)) / (√(2π) σ)."""
        a_, mean, sd = self.args
        return sp.exp(-(a_ - mean) ** 2 / (2 * sd ** 2)) / (sp.sqrt(2 * sp.pi) * sd)

    def _latex(self, printer):
        a_, mean, sd = (printer._print(v) for v in self.args)
        return r"\mathcal{N}(%s;\, %s, %s^{2})" % (a_, mean, sd if self.args[2].is_Atom else "(%s)" % sd)

    def _sympystr(self, printer):
        a_, mean, sd = (printer._print(v) for v in self.args)
        return "N(%s; %s, %s^2)" % (a_, mean, sd)


# A one-step problem with a continuous action: a ∼ N(θ, σ²), σ = e^w, reward k0 + k1 a + k2 a².
action = Symbol("a", real=True)
sigma = Symbol("sigma", positive=True)
w = Symbol("w", real=True)
k0, k1, k2 = sp.symbols("k0 k1 k2", real=True)


class DiscountedObjective(_Depends, _Printed):
    """J_γ(θ) = E[Σ_{t=0}^{∞} γ^t r_t]: the infinite-horizon discounted return (γ < 1)."""

    depends_on = (theta, gamma)

    nargs = 1
    latex_form = r"J_{\gamma}(%s)"
    plain_form = "J_gamma(%s)"


class DiscountedOccupancy(_Depends, _Printed):
    """d_γ(s) = (1 − γ) Σ_{t≥0} γ^t P(s_t = s): the normalised discounted state occupancy (Σ_s d_γ(s) = 1)."""

    depends_on = (theta, gamma)

    nargs = 1
    latex_form = r"d_{\gamma}(%s)"
    plain_form = "d_gamma(%s)"


class DiscountedQ(_Depends, _Printed):
    """Q_γ(s, a) = E[Σ_{t≥0} γ^t r_t | s_0 = s, a_0 = a] under π_θ (infinite horizon)."""

    depends_on = (theta, gamma)

    nargs = 2
    latex_form = r"Q_{\gamma}(%s, %s)"
    plain_form = "Q_gamma(%s, %s)"


class Objective(_Depends, _Printed):
    """J(θ) = E_{τ∼P(·;θ)}[R(τ)] (a function of γ through R)."""

    depends_on = (theta, gamma)

    nargs = 1
    latex_form = r"J(%s)"
    plain_form = "J(%s)"


class TrajectorySum(_Binder):
    """Σ_τ body: a sum over every trajectory, or (support=True) over those with P(τ;θ) > 0."""

    def __new__(cls, body, traj=tau, support=False):
        return Expr.__new__(cls, _body(body, cls.__name__), traj, sp.true if support else sp.false)

    @property
    def support(self) -> bool:
        return bool(self.args[2])

    def _latex(self, printer):
        sub = printer._print(self.variable)
        if self.support:
            sub += r":\, P(%s;\theta) > 0" % printer._print(self.variable)
        body = printer._print(self.body)
        if isinstance(self.body, sp.Add):
            body = r"\left(%s\right)" % body
        return r"\sum_{%s} %s" % (sub, body)

    def _sympystr(self, printer):
        dom = "tau: P>0" if self.support else "tau"
        return "Sum_{%s}(%s)" % (dom, printer._print(self.body))


class PathSum(TrajectorySum):
    """Σ_τ over τ's states and actions, each term averaged over the rewards drawn given them.

    Where trajectories record random rewards, a line that factorises P(τ;θ) without the factors
    P(r_t|s_t,a_t) sums over paths of states and actions: Σ_path E[body | path]. It is printed as
    the Σ_τ it was written as; :func:`marginal_sums` gives the sum over whole trajectories it is.
    """



def marginal_sums(e, *, rewards: bool = True):
    """Σ_path body -> Σ_τ Π_{k=0}^{H} P(r_k|s_k,a_k) · body (rewards recorded), else Σ_τ body.

    Summing over whole trajectories with each term weighted by the probability of its rewards
    given its path is Σ_path E[body | path]; with deterministic rewards that weight is 1.
    """
    if not isinstance(e, sp.Basic) or not e.has(PathSum):
        return e

    def full(x):
        body = marginal_sums(x.body, rewards=rewards)
        if rewards:
            weight = Product(RewardProbability(x.variable, t), (t, 0, H))   # t is bound by the product
            body = sp.Mul(weight, body, evaluate=False)
        return TrajectorySum(body, x.variable, x.support)

    return e.replace(lambda x: isinstance(x, PathSum), full)


# Quantities that are probabilities (or probability densities), hence ≥ 0.
PROBABILITIES = (Policy, Transition, InitialDistribution, TrajectoryProbability, RewardProbability, Occupancy,
                 DiscountedOccupancy, Normal)


def nonnegative(e) -> bool:
    """Provably ≥ 0: a probability or density, what SymPy knows is ≥ 0, and products and real powers of them."""
    if not isinstance(e, sp.Basic):
        return False
    if isinstance(e, PROBABILITIES) or e.is_nonnegative:
        return True
    if isinstance(e, sp.Mul):
        return all(nonnegative(f) for f in e.args)
    if isinstance(e, sp.Pow):
        return nonnegative(e.base) and bool(e.exp.is_extended_real)
    if isinstance(e, Product):
        return nonnegative(e.function)
    return False


# -- constructors in the seeds' notation ------------------------------------

def s(k, traj=tau) -> Expr:
    """s_k (of τ, or of a sample τ^(i))."""
    return State(traj, k)


def a(k, traj=tau) -> Expr:
    """a_k."""
    return Action(traj, k)


def mu(traj=tau) -> Expr:
    """μ(s_0)."""
    return InitialDistribution(s(0, traj))


def dynamics(k=t, traj=tau) -> Expr:
    """P(s_{k+1} | s_k, a_k)."""
    return Transition(s(k + 1, traj), s(k, traj), a(k, traj))


def pi(k=t, traj=tau) -> Expr:
    """π_θ(a_k | s_k)."""
    return Policy(a(k, traj), s(k, traj), theta)


def P(traj=tau) -> Expr:
    """P(τ; θ)."""
    return TrajectoryProbability(traj, theta)


def R(traj=tau) -> Expr:
    """R(τ)."""
    return Return(traj)


def J() -> Expr:
    """J(θ)."""
    return Objective(theta)


def grad(expr) -> Expr:
    """∇_θ expr, unevaluated."""
    return Derivative(_body(expr, "grad"), theta)


def sum_tau(body, *, support: bool = False) -> Expr:
    """Σ_τ body."""
    return TrajectorySum(body, tau, support)


def sum_t(body, *, upper=H) -> Expr:
    """Σ_{t=0}^{H} body."""
    return Sum(_body(body, "sum_t"), (t, 0, _body(upper, "sum_t upper")))


def prod_t(body, *, upper=H) -> Expr:
    """Π_{t=0}^{H} body."""
    return Product(_body(body, "prod_t"), (t, 0, _body(upper, "prod_t upper")))


def _rebuild(op, *args):
    # Rebuild a node without letting SymPy simplify it (P/P must stay P/P).
    if op in (sp.Add, sp.Mul, sp.Pow):
        return op(*args, evaluate=False)
    return op(*args)


# Tree access for sympy.strategies' traversals that keeps unevaluated forms intact.
STRUCTURE = {
    "op": type,
    "new": _rebuild,
    "children": lambda x: x.args,
    "leaf": lambda x: not isinstance(x, sp.Basic) or x.is_Atom,
}


def r(k=t, traj=tau) -> Expr:
    """r_k."""
    return Reward(traj, k)


def reward_probability(k=t, traj=tau) -> Expr:
    """P(r_k | a_k, s_k)."""
    return RewardProbability(traj, k)


def sum_states(body) -> Expr:
    """Σ_s body."""
    return StateSum(body)


def d(k=t, st=None) -> Expr:
    """d_k(s)."""
    return Occupancy(k, x if st is None else st)


def Q(k=t, st=None, ac=None) -> Expr:
    """Q_k(s, a)."""
    return QValue(k, x if st is None else st, b if ac is None else ac)


def expectation(body, traj=tau) -> Expr:
    """E_{τ∼π_θ}[body]."""
    return Expectation(body, traj)


def factorisation_with_rewards(traj=tau) -> Expr:
    """μ(s_0) Π_t π_θ(a_t|s_t) P(r_t|a_t,s_t) P(s_{t+1}|s_t,a_t): P(τ;θ) when τ records the rewards (seed 004)."""
    return sp.Mul(mu(traj), prod_t(unevaluated_mul(pi(t, traj), reward_probability(t, traj), dynamics(t, traj))),
                  evaluate=False)


def baseline(k=t, traj=tau) -> Expr:
    """b(s_k)."""
    return Baseline(State(traj, k))


def sum_actions(body, var=b) -> Expr:
    """Σ_b body."""
    return ActionSum(body, var)


def discounted_return(traj=tau) -> Expr:
    """Σ_{u=0}^{H} γ^u r_u: the return R(τ) written out."""
    return Sum(unevaluated_mul(gamma ** u, r(u, traj)), (u, 0, H))


def reward_to_go(k=t, traj=tau) -> Expr:
    """Σ_{u=k}^{H} γ^u r_u: the rewards from step k on."""
    return Sum(unevaluated_mul(gamma ** u, r(u, traj)), (u, _body(k, "reward_to_go"), H))


def unevaluated_mul(*factors) -> Expr:
    """A product SymPy must not simplify (keeps P/P and ∇P/P visible)."""
    return sp.Mul(*(_body(f, "unevaluated_mul") for f in factors), evaluate=False)


def ratio(expr) -> Expr:
    """expr / expr, kept visible: the factor 1 of the 'multiply by P/P' step."""
    return fraction(expr, expr)


def fraction(num, den) -> Expr:
    """num / den without cancellation."""
    return sp.Mul(_body(num, "fraction"), sp.Pow(_body(den, "fraction"), -1, evaluate=False), evaluate=False)


def sample_mean(body) -> Expr:
    """(1/m) Σ_{i=1}^{m} body, body written in τ^(i)."""
    return unevaluated_mul(Rational(1, 1) / m, Sum(_body(body, "sample_mean"), (i, 1, m)))


def factorisation(traj=tau) -> Expr:
    """μ(s_0) Π_{t=0}^{H} P(s_{t+1}|s_t,a_t) π_θ(a_t|s_t): the Markov factorisation of P(τ;θ)."""
    return sp.Mul(mu(traj), prod_t(sp.Mul(dynamics(t, traj), pi(t, traj))))


# Sanity of the vocabulary: these must stay θ-free in the general form, and these must not.
assert theta not in mu().free_symbols and theta not in dynamics().free_symbols
assert theta not in R().free_symbols and gamma in R().free_symbols
assert all(theta in q.free_symbols for q in (d(), Q(), DiscountedOccupancy(x), DiscountedQ(x, b)))


# -- notebooks ---------------------------------------------------------------------------------
# Jupyter shows an expression through its _repr_latex_; one that contains derive's notation is
# shown with derive's printer (∇_θ, factors as written), every other SymPy expression as before.

_NOTATION = (_Printed, _StepOf, _Binder, Sample, RewardProbability, Normal)


def _repr_latex_(self):
    if isinstance(self, _NOTATION) or (isinstance(self, sp.Basic) and self.has(*_NOTATION)):
        from .latex import to_latex  # lazily: the printer imports this module

        return "$\\displaystyle %s$" % to_latex(self)
    return _sympy_repr_latex(self)


_PRINTING: list = []  # set while derive's text printer runs: a str() inside it is SymPy's own


def _str(self):
    """str() and repr() of an expression with derive's notation in it: derive's text form (∇_θ, P(τ;θ))."""
    if not _PRINTING and (isinstance(self, _NOTATION) or (isinstance(self, sp.Basic) and self.has(*_NOTATION))):
        from .text import to_text  # lazily: the printer imports this module

        _PRINTING.append(True)
        try:
            return to_text(self)
        finally:
            _PRINTING.pop()
    return _sympy_str(self)


def _install_repr_latex():
    from sympy.core._print_helpers import Printable

    global _sympy_repr_latex, _sympy_str
    if getattr(Printable._repr_latex_, "__module__", "") != __name__:
        _sympy_repr_latex = Printable._repr_latex_
        Printable._repr_latex_ = _repr_latex_
    if getattr(Printable.__str__, "__module__", "") != __name__:
        _sympy_str = Printable.__str__
        Printable.__str__ = Printable.__repr__ = _str


_sympy_repr_latex = None
_sympy_str = None
_install_repr_latex()
