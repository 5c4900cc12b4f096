"""The --target formula parser (nnlab.nn.expressions on nnlab.nn.safe_ast): what a formula in x evaluates to,
and everything it must refuse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab.nn import expressions, formulas

X = np.random.default_rng(0).random((50, 3))


@pytest.mark.parametrize(("text", "expected"), [
    ("x1", X[:, 0]),
    ("x[2]", X[:, 2]),
    ("sin(2*pi*x1) * exp(-x[1]**2)", np.sin(2 * math.pi * X[:, 0]) * np.exp(-X[:, 1] ** 2)),
    ("norm(x - 0.5)", np.linalg.norm(X - 0.5, axis=1)),
    ("sum(x**2) / 3", np.sum(X**2, axis=1) / 3),
    ("max(x)", X.max(axis=1)),
    ("min(x1, x2, 0.3)", np.minimum(np.minimum(X[:, 0], X[:, 1]), 0.3)),
    ("maximum(x1 - x3, 0)", np.maximum(X[:, 0] - X[:, 2], 0)),
    ("-x1 % 0.25 + e", -X[:, 0] % 0.25 + math.e),
    ("abs(x1 - 0.5) + 2", np.abs(X[:, 0] - 0.5) + 2),
])
def test_formulas_evaluate_like_numpy(text, expected):
    np.testing.assert_allclose(expressions.compile_expression(text, 3)(X), expected, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize(("text", "problem"), [
    ("__import__('os').system('echo hi')", "calling \"__import__('os').system\" is not allowed"),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("open('/etc/passwd')", "calling 'open' is not allowed"),
    ("eval('1')", "calling 'eval' is not allowed"),
    ("x.__class__", "Attribute is not allowed"),
    ("x1.real", "Attribute is not allowed"),
    ("np.sin(x1)", "calling 'np.sin' is not allowed"),
    ("(lambda: 1)()", "calling 'lambda: 1' is not allowed"),
    ("[x1 for x1 in x]", "ListComp is not allowed"),
    ("__builtins__", "unknown name '__builtins__'"),
    ("x1 if x2 else x3", "IfExp is not allowed"),
    ("sin(x=x1)", "positional arguments only"),
    ("sin(*x)", "positional arguments only"),
    ("'a' + x1", "only numbers"),
    ("True * x1", "only numbers"),
    ("x1 < x2", "Compare is not allowed"),
    ("x1 // 2", "FloorDiv is not allowed"),
    ("y + 1", "unknown name 'y'"),
    ("sin + x1", "sin is a function"),
    ("3", "does not depend on x"),
    ("x4", "x4 needs d >= 4"),
    ("x[3]", "outside x[0]..x[2]"),
    ("x[-1]", "integer constant"),
    ("x[x1]", "integer constant"),
    ("x + 1", "a vector per point"),
    ("log(x1 - 2)", "not finite"),
    ("1 / (x1 - x1)", "not finite"),
    ("", "empty expression"),
    ("x1 +", "not a formula"),
    ("x1; import os", "not a formula"),
    ("(" * 300 + "x1" + ")" * 300, "longer than"),
    ("(" * 200 + "x1" + ")" * 200, "nested deeper than 120"),   # refused before the (recursive) parser sees it
    ("-" * 150 + "x1", "nested deeper than 120"),
    ("+".join(["--x1"] * 100), "more than 200 operations"),
    ("1e400 * x1", "too large to be a finite float64"),
])
def test_what_is_not_a_formula_in_x_is_refused_in_one_line(text, problem):
    message = expressions.check(text, 3)
    assert message is not None and problem in message, message
    assert "\n" not in message


def test_no_code_runs_while_checking(tmp_path, monkeypatch):
    # Were anything evaluated by python, this would create the file.
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    assert expressions.check(f"__import__('pathlib').Path('{marker}').touch() or x1", 3) is not None
    assert not marker.exists()


def _refusal(parse, text):
    with pytest.raises(expressions.ExpressionError) as info:
        parse(text)
    return str(info.value)


def test_approx_and_backprop_share_the_error_and_the_limits():
    assert expressions.ExpressionError is formulas.FormulaError and issubclass(formulas.FormulaError, ValueError)
    for text in ["x" * 601, "-" * 150 + "x", "(" * 121 + "x" + ")" * 121, "+".join(["--x"] * 100), "x ** 1e400"]:
        approx = _refusal(lambda t: expressions.parse(t, 3), text).replace("expression", "formula")
        assert approx == _refusal(formulas.parse, text)
