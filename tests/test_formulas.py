"""The lecture's formulas: its LaTeX as MathML (report, serve) and as Unicode (terminal)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from nnlab.core.formulas import mathml, plain
from nnlab.registry import COMMANDS


@pytest.mark.parametrize(("latex", "text"), [
    (r"\text{Sigmoid: } \sigma(z) = \frac{1}{1+e^{-z}}", "Sigmoid: σ(z) = 1/(1+e⁻ᶻ)"),
    (r"D \sim \left(\frac{L}{\epsilon}\right)^d", "D ~ (L/ε)ᵈ"),
    (r"\text{Cov}[y_i] = n_{in} w^2 \times \text{Cov}[z_i] \Rightarrow w = \frac{1}{\sqrt{n_{in}}}",
     "Cov[yᵢ] = nᵢₙ w² × Cov[zᵢ] ⇒ w = 1/√nᵢₙ"),
    (r"x_{k+1} = x_k - \frac{\alpha}{\sqrt{s_{k+1}^2 + 10^{-7}}} \odot dx_k", "xₖ₊₁ = xₖ - α/(√(sₖ₊₁² + 10⁻⁷)) ⊙ dxₖ"),
    (r"\|F(x) - f(x)\|_{L_2(p)}^2 \leq \frac{C_f^2}{D}", "‖F(x) - f(x)‖_(L₂(p))² ≤ C_f²/D"),  # no subscript f
])
def test_formulas_read_as_unicode_in_the_terminal(latex, text):
    assert plain(latex) == text


def test_formulas_become_mathml_the_browser_renders():
    root = ET.fromstring(mathml(r"w = \frac{1}{\sqrt{n_{in}}}"))
    assert root.tag == "math" and root.get("display") == "block"  # HTML's <math>: no namespace, no URL
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert {"mfrac", "msqrt", "msub"} <= tags


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_section_has_the_lectures_formulas_and_each_converts(command):
    from nnlab.report.sections import section

    formulas = section(command).formulas
    assert formulas
    for latex in formulas:
        text = plain(latex)
        assert "<math" in mathml(latex) and "\\" not in text and not re.search(r"[{}]", text), (latex, text)
