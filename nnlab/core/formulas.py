"""The lecture's formulas, kept as the lecture writes them (LaTeX), shown three ways:

- `mathml(latex)`: MathML, which browsers render natively (the report and `nnlab serve`: no script, no font,
  nothing fetched), converted by latex2mathml;
- `plain(latex)`: readable Unicode for the terminal (σ(z) = 1/(1 + e^(−z)), x₍k+1₎ = …), by the small
  translation below: letters and operators by name, subscripts and superscripts, fractions and roots;
- the LaTeX itself in report.md, between $$ (code hosts render it).
"""

from __future__ import annotations

import re

# LaTeX commands -> the characters they print
SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "pi": "π", "sigma": "σ", "phi": "φ", "omega": "ω", "nabla": "∇", "sum": "Σ",
    "int": "∫", "infty": "∞", "partial": "∂", "odot": "⊙", "circ": "∘", "cdot": "·", "times": "×",
    "leq": "≤", "geq": "≥", "neq": "≠", "approx": "≈", "sim": "~", "in": "∈", "forall": "∀",
    "rightarrow": "→", "Rightarrow": "⇒", "to": "→", "dots": "…", "ldots": "…", "langle": "⟨", "rangle": "⟩",
    "sup": "sup", "inf": "inf", "max": "max", "min": "min", "log": "log", "exp": "exp", "erf": "erf",
    "quad": "   ", "qquad": "    ", ",": " ", ";": " ", "|": "‖", "{": "{", "}": "}",
}
SUPERSCRIPT = str.maketrans("0123456789+-=()abdeiklmnxzLT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᵈᵉⁱᵏˡᵐⁿˣᶻᴸᵀ")
SUBSCRIPT = str.maketrans("0123456789+-=()aeijklmnoprstx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜₓ")


def mathml(latex: str) -> str:
    """One display formula as a MathML <math> element."""
    from latex2mathml.converter import convert

    # HTML needs no namespace on <math>, and a page that names no URL is one the report's check can trust
    return convert(latex, display="block").replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)


def _group(text: str, start: int) -> tuple[str, int]:
    """The braced group (or the one character) at `start`: (its text, the index after it)."""
    if start < len(text) and text[start] == "{":
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start + 1:i], i + 1
        return text[start + 1:], len(text)
    return text[start:start + 1], start + 1


def _script(body: str, table: dict, mark: str) -> str:
    """x^{...} / x_{...}: Unicode super/subscripts when every character has one, else ^(...) / _(...)."""
    body = plain(body)
    if all(ch.translate(table) != ch or ch == " " for ch in body) and body:
        return body.translate(table)
    return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"


def plain(latex: str) -> str:
    """Readable Unicode for a formula written in LaTeX (the subset the lecture uses)."""
    out, i = [], 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", latex[i:])
            name, i = match.group(1), i + match.end()
            if name in ("frac", "dfrac"):
                top, i = _group(latex, i)
                bottom, i = _group(latex, i)
                top, bottom = plain(top), plain(bottom)
                wrap = lambda s: f"({s})" if re.search(r"[\s+\-=/]", s) else s  # noqa: E731
                out.append(f"{wrap(top)}/{wrap(bottom)}")
            elif name == "sqrt":
                body, i = _group(latex, i)
                body = plain(body)
                out.append(f"√{body}" if re.fullmatch(r"\w+", body) else f"√({body})")
            elif name in ("text", "operatorname", "mathrm", "mathbb", "hat", "left", "right", "big", "Big"):
                if name in ("left", "right", "big", "Big"):
                    continue  # the delimiter that follows is printed as itself
                body, i = _group(latex, i)
                out.append(plain(body) + ("\u0302" if name == "hat" else ""))
            else:
                out.append(SYMBOLS.get(name, name))
        elif ch in "^_":
            body, i = _group(latex, i + 1)
            out.append(_script(body, SUPERSCRIPT if ch == "^" else SUBSCRIPT, ch))
        elif ch in "{}":
            i += 1
        else:
            out.append(ch)
            i += 1
    return re.sub(r" {2,}(?=\S)", lambda m: m.group(0) if len(m.group(0)) >= 3 else " ", "".join(out)).strip()
