"""Prose with its math typeset as math: each run of math one formula, words and file names left as text."""

import re
from pathlib import Path

import pytest

import derive.rules
from derive.derivation import CONDITIONS, Rule
from derive.latex import _md_text, text_to_latex
from derive.latex_prose import math_to_latex, segments
from derive.loader import load_proofs

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in [*(ROOT / "proofs").glob("*.py"), *(ROOT / "proofs" / "errata").glob("*.py")]
                 if not p.name.startswith("_"))


def _bundled_prose() -> list[str]:
    """Every sentence a bundled proof's document shows: titles, notes, names, rules, whys, conditions."""
    out = []
    for script in SCRIPTS:
        for proof in load_proofs(script):
            out += [proof.title, *proof.notes]
            for d in proof.derivations:
                out += [d.name, d.description]
                for s in d.steps:
                    out += [s.rule, s.why, *(c.text for c in s.conditions)]
    out += [x for r in vars(derive.rules).values() if isinstance(r, Rule) for x in (r.name, r.why)]
    out += [c.text for c in CONDITIONS.values()]
    return list(dict.fromkeys(x for x in out if x))


PROSE = _bundled_prose()
_MATH_CHARS = set("θτμπσγφαδελρ∇ΣΠ∑∏∫∂√∼≠≤≥→∈·×²")


def shown(text: str) -> str:
    return "".join(s.text if s.kind == "text" else "⟦" + s.text + "⟧" for s in segments(text))


def test_the_bundled_prose_is_many_sentences():
    assert len(PROSE) > 100  # the collection itself must not silently come back empty


@pytest.mark.parametrize("text", PROSE)
def test_every_bundled_sentence_has_its_math_found(text):
    for seg in segments(text):
        if seg.kind == "text":
            assert not (_MATH_CHARS & set(seg.text)), f"math left in text: {seg.text!r}"
            assert not re.search(r"(?<![A-Za-z])[A-Za-z]_[A-Za-z0-9{]", seg.text), f"script left in text: {seg.text!r}"
            # A lone letter other than the articles is a variable ("in every state s").
            lone = re.findall(r"(?<![\w.'/-])[b-zB-HJ-Z](?![\w.'/-])", seg.text)
            assert not lone, f"variable {lone} left in text: {seg.text!r}"


@pytest.mark.parametrize("text", PROSE)
def test_every_bundled_sentence_keeps_its_words_as_text(text):
    words = lambda s: re.findall(r"[A-Za-z]{2,}", s)  # noqa: E731
    prose_words = [w for w in words(text) if w not in ("log", "exp")]
    text_part = " ".join(s.text if s.kind == "text" else " " for s in segments(text))
    assert sorted(w for w in words(text_part) if w not in ("log", "exp")) == sorted(prose_words)
    for seg in segments(text):
        if seg.kind == "math":
            assert not re.search(r"[A-Za-z]{2,}", re.sub(r"\\[A-Za-z]+", " ", seg.text)), seg.text


@pytest.mark.parametrize("text", PROSE)
def test_every_bundled_sentence_is_ascii_latex_with_balanced_math(text):
    out = text_to_latex(text)
    assert out.isascii()
    assert out.replace(r"\$", "").count("$") % 2 == 0
    assert "$$" not in out  # two formulas never touch (that would be display math)


def test_definition_is_one_formula_in_the_seeds_notation():
    out = text_to_latex("J(θ) is the expected return: J(θ) = Σ_τ P(τ;θ) R(τ).")
    assert out == r"$J(\theta)$ is the expected return: $J(\theta) = \sum_\tau P(\tau;\theta) R(\tau)$."
    assert r"$\tau$;$\theta$" not in out and r"P($\tau$" not in out  # the letter-by-letter form


@pytest.mark.parametrize("text, formulas", [
    ("E[∇_θ log π_θ(a_t|s_t) b(s_t)] = 0 for any b",
     (r"\mathbb{E}[\nabla_\theta \log \pi_\theta(a_{t}\mid s_{t}) b(s_{t})] = 0", "b")),
    ("E_{τ∼π_θ}[R(τ)] = ∫_τ R(τ) π(τ|θ) dτ", (r"\mathbb{E}_{\tau\sim\pi_\theta}[R(\tau)] = \int_\tau R(\tau) \pi(\tau\mid\theta) d\tau",)),
    ("E is a set", ("E",)),
    ("P(s_t = s, a_t = a) = d_t(s) π_θ(a|s)", (r"P(s_{t} = s, a_{t} = a) = d_{t}(s) \pi_\theta(a\mid s)",)),
    ("for a ∼ N(θ, σ²)", (r"a \sim N(\theta, \sigma^{2})",)),
    ("H = 0", ("H = 0",)),
    ("samples τ^(1), …, τ^(m) ∼ P(·;θ)", (r"\tau^{(1)}, \dots, \tau^{(m)} \sim P(\cdot;\theta)",)),
    ("(1 − γ) Σ_t γ^t", (r"(1 - \gamma) \sum_{t} \gamma^{t}",)),
    ("log N = −(a − θ)² e^(−2w)/2 − w − log √(2π)", (r"\log N = -(a - \theta)^{2} e^{(-2w)}/2 - w - \log \sqrt{2\pi}",)),
    ("Σ_{τ: P(τ;θ)>0} P(τ;θ) g(τ)", (r"\sum_{\tau: P(\tau;\theta)>0} P(\tau;\theta) g(\tau)",)),
])
def test_math_runs_are_one_formula(text, formulas):
    maths = [s.text for s in segments(text) if s.kind == "math"]
    assert maths == list(formulas)


@pytest.mark.parametrize("text", [
    "(proofs/reward_to_go.py)", "The score-function form (proofs/policy_gradient.py).",
    "policy_probabilities", "a sum of a product", "log-derivative trick", "reward-to-go with a baseline",
    "m i.i.d. samples", "Sutton et al.'s theorem", "The log of a product is the sum of the logs.",
    "Seed 004's derivation", "35.38 for REINFORCE, 21.57 with reward-to-go", "A reward before step",
])
def test_prose_is_left_alone(text):
    texts = "".join(s.text for s in segments(text) if s.kind == "text")
    maths = [s.text for s in segments(text) if s.kind == "math"]
    assert all(len(m) <= 1 for m in maths)  # at most a lone variable (m) is math
    for word in re.findall(r"[A-Za-z_./']{2,}", text):
        assert word in texts
    assert text_to_latex("(proofs/reward_to_go.py)") == r"(proofs/reward\_{}to\_{}go.py)"


def test_articles_and_hyphens():
    assert shown("Where P(τ;θ) = 0 a θ-free factor vanishes") == r"Where ⟦P(\tau;\theta) = 0⟧ a ⟦\theta⟧-free factor vanishes"
    assert shown("finite S, A and H") == "finite ⟦S, A⟧ and ⟦H⟧"  # A among math letters is math
    assert shown("A factor that does not involve t") == "A factor that does not involve ⟦t⟧"
    assert shown("its π_θ-weighted mean") == r"its ⟦\pi_\theta⟧-weighted mean"


def test_relations_separated_by_commas_are_separate_formulas():
    assert shown("E[1] = 1, E[a] = θ and E[a²] = θ² + σ²") == \
        r"⟦\mathbb{E}[1] = 1⟧, ⟦\mathbb{E}[a] = \theta⟧ and ⟦\mathbb{E}[a^{2}] = \theta^{2} + \sigma^{2}⟧"
    assert shown("P > 0, 50%") == "⟦P > 0⟧, 50%"  # a number alone is never a formula


def test_markdown_inline_math_and_escapes():
    assert _md_text("J(θ) = Σ_τ P(τ;θ) R(τ) in proofs/reward_to_go.py, 5 * $2") == \
        r"$J(\theta) = \sum_\tau P(\tau;\theta) R(\tau)$ in proofs/reward\_to\_go.py, 5 \* \$2"


def test_math_to_latex_of_values():
    assert math_to_latex("(−1/4, 1/4)") == "(-1/4, 1/4)"
    assert math_to_latex("π_θ(0|s)") == r"\pi_\theta(0\mid s)"
    assert math_to_latex("P(tau; theta)") == r"P(\tau; \theta)"  # ASCII Greek names inside a formula


def test_scripts_without_a_base_still_compile_as_math():
    assert text_to_latex("_x and a__b") .count("{}_") >= 2


def test_semicolons_end_a_formula():
    assert shown("do not depend on θ; γ < 1, so it converges") == r"do not depend on ⟦\theta⟧; ⟦\gamma < 1⟧, so it converges"
    assert shown("P(τ;θ) > 0") == r"⟦P(\tau;\theta) > 0⟧"  # inside brackets a semicolon is the seeds' P(τ;θ)


def test_seconds_after_a_number_are_a_unit():
    assert shown("simplify reached its 2 s time limit") == "simplify reached its 2 s time limit"
    assert shown("in every state s") == "in every state ⟦s⟧"


_ALPHABET = list("abstxAEHJNPRS θτμπσγ∇ΣΠ∫√²·∼=<>≤≠+−-/|,;:.'()[]{}_^…0123456789$%&#\\~") + [
    "log ", "exp(", "the ", "P(τ;θ)", "π_θ(a|s)", "s_{t+1}", "τ^(i)", "proofs/x_y.py", "i.i.d. ", "θ-free "]


def _random_prose(rng, n):
    return ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 25))) for _ in range(n)]


def test_random_prose_is_balanced_ascii_latex():
    import random

    rng = random.Random(14)
    for text in _random_prose(rng, 3000):
        out = text_to_latex(text)
        assert out.isascii(), text
        unescaped = re.sub(r"\\[\\{}$]|\\textbackslash\{\}", "", out)
        assert unescaped.count("$") % 2 == 0, (text, out)
        assert unescaped.count("{") == unescaped.count("}"), (text, out)
        md = _md_text(text)
        assert re.sub(r"\\[\\$]", "", md).count("$") % 2 == 0, (text, md)


def test_random_prose_compiles(tmp_path):
    import random

    from derive.pdf import compile_pdf, pdflatex_path

    if pdflatex_path() is None:
        pytest.skip("pdflatex not installed")
    rng = random.Random(7)
    body = "\n\n".join(text_to_latex(t) for t in _random_prose(rng, 1500))
    tex = ("\\documentclass{article}\\usepackage{amsmath,amssymb}\\setlength{\\emergencystretch}{3em}"
           "\\begin{document}\n%s\n\\end{document}\n" % body)
    compile_pdf(tex, tmp_path / "random.pdf")  # raises LatexError on any error
    assert (tmp_path / "random.pdf").read_bytes().startswith(b"%PDF")


def test_random_prose_math_parses_in_katex():
    import random

    from test_latex import _KATEX, katex_errors

    import shutil

    if not _KATEX.exists() or shutil.which("node") is None:
        pytest.skip("KaTeX not installed")
    rng = random.Random(11)
    formulas = [s.text for t in _random_prose(rng, 3000) for s in segments(t) if s.kind == "math"]
    assert len(formulas) > 1000
    assert katex_errors([], formulas) == []
