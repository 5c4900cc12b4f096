"""Staged formulas over named variables (nnlab.nn.formulas): parsing, refusals, points, and gradients
equal to torch autograd's (rel 1e-12 here; the command's claim asks 1e-9) and to finite differences."""

from __future__ import annotations

import math

import pytest

from nnlab.nn import formula_graph, formulas

EXPRESSIONS = [  # several variables, division, powers, unary minus, relu and the other functions
    ("-x/y + relu(x - y)**2 + 2**x", "x=1.3,y=0.5"),
    ("u = x*y/z; v = -u**3 + relu(z - x); r = v / (1 + u**2)", "x=0.7,y=-1.2,z=2.5"),
    ("(a**b - c) / relu(a + c) + log(a) * exp(-b)", "a=1.5,b=2.5,c=0.25"),
    ("sigmoid(p*q) * tanh(q - p) - leaky_relu(-p, 0.2) + gelu(q) / softplus(p, 2)", "p=0.3,q=-0.8"),
    ("t = relu(-x) + relu(x); t**-2 * x**0.5", "x=2"),
    ("e**x - pi*y**2 / -x", "1.5,0.25"),
]


@pytest.mark.parametrize(("text", "point"), EXPRESSIONS)
def test_value_and_gradient_equal_torch_and_finite_differences(text, point):
    program = formulas.parse(text)
    p = formulas.parse_point(point, program.variables)
    assert formula_graph.domain_problem(program, p) is None
    graph = formula_graph.build(program, p)
    value, grad = formula_graph.torch_gradient(program, p)
    assert graph.value == pytest.approx(value, rel=1e-12)
    fd = formula_graph.finite_differences(program, p, 1e-6)
    for v in program.variables:
        assert graph.gradient()[v] == pytest.approx(grad[v], rel=1e-12, abs=1e-300)
        assert fd[v] == pytest.approx(grad[v], rel=1e-6, abs=1e-8)


def test_the_slide_staging_names_u_v_w_r():
    program = formulas.parse(formulas.SLIDE)
    assert program.variables == ["x", "y", "z"] and program.output == "r"
    graph = formula_graph.build(program, formulas.SLIDE_POINT)
    table = {n.name: (n.definition, n.tensor.item(), float(n.tensor.grad)) for n in graph.nodes}
    assert table == {"x": ("variable", 1, 192), "y": ("variable", 2, 96), "z": ("variable", 4, 72),
                     "u": ("x ** 2", 1, 96), "v": ("u + y", 3, 96), "w": ("z * v", 12, 24), "r": ("w ** 2", 144, 1)}


def test_one_expression_gets_t_names_and_the_output_f():
    graph = formula_graph.build(formulas.parse("(z*(x**2 + y))**2"), {"x": 2, "y": 1, "z": 3})
    assert [n.name for n in graph.nodes] == ["x", "y", "z", "t1", "t2", "t3", "f"]
    assert graph.value == 225 and graph.gradient() == {"x": 360, "y": 90, "z": 150}
    assert [n.parents for n in graph.nodes[3:]] == [["x"], ["t1", "y"], ["z", "t2"], ["t3"]]


@pytest.mark.parametrize(("text", "message"), [
    ("x*(", "not a formula"),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("x.real", "Attribute is not allowed"),
    ("x[0]", "Subscript is not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("'a' * x", "only numbers"),
    ("x if y else z", "IfExp is not allowed"),
    ("x % 2", "operator Mod is not allowed"),
    ("abs(x)", "calling 'abs' is not allowed"),
    ("exp(x, y)", "exp() takes 1 argument"),
    ("leaky_relu(x, y)", "second argument must be a number"),
    ("softplus(x, -1)", "beta > 0"),
    ("u = x; u * 2", "computes nothing"),
    ("u = x**2; u = x", "assigned twice"),
    ("r = u * 2; u = x**2", "used before it is assigned"),
    ("x**2; y", "must be `name = expression`"),
    ("exp = x**2", "function or constant"),
    ("_x * 2", "names are a letter"),
    ("3 * 4", "no variables"),
    ("1e400 * x", "too large"),
    ("x" + "+x" * 300, "longer than"),
    ("exp + x", "exp is a function: call it"),
    ("", "empty"),
])
def test_bad_formulas_are_refused_with_one_line(text, message):
    with pytest.raises(formulas.FormulaError) as info:
        formulas.parse(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_size_limits():
    formulas.parse(" + ".join(["x"] * 100))                 # 99 additions: fine
    formulas.parse("(" * 120 + "x" + ")" * 120 + " * 2")      # parentheses make no tree levels
    with pytest.raises(formulas.FormulaError, match="nested deeper"):
        formulas.parse("-" * 150 + "x")
    with pytest.raises(formulas.FormulaError, match="nested deeper"):
        formulas.parse("(" * 200 + "x" + ")" * 200)            # refused before the (recursive) parser sees it
    formulas.parse("+".join(["--x"] * 60))                     # 179 operations
    with pytest.raises(formulas.FormulaError, match="more than 200 operations"):
        formulas.parse("+".join(["--x"] * 100))


def test_points_by_name_and_in_order():
    assert formulas.parse_point("x=1, z=4,y=2", ["x", "y", "z"]) == {"x": 1, "y": 2, "z": 4}
    assert formulas.parse_point("1,2,4", ["x", "y", "z"]) == {"x": 1, "y": 2, "z": 4}
    for text, message in [("x=1,y=2", "no value for z"), ("1,2", "no value for z"), ("x=nan,y=1,z=1", "not a finite"),
                          ("1,inf,2", "not a finite"), ("x=1,x=2,y=1,z=1", "given twice"), ("w=1", "not a variable"),
                          ("1,2,3,4", "4 values for 3"), ("x=1,2,3", "by name"), ("1,,2", "empty value"),
                          ("x=one,y=1,z=1", "not a number")]:
        with pytest.raises(formulas.FormulaError, match=message):
            formulas.parse_point(text, ["x", "y", "z"])


@pytest.mark.parametrize(("text", "point", "message"), [
    ("log(x)", {"x": -1.0}, "f = log(x) gives nan"),
    ("x**-1", {"x": 0.0}, "gives inf"),
    ("x / (y - 1)", {"x": 1.0, "y": 1.0}, "gives inf"),
    ("x**0.5", {"x": 0.0}, "derivative is not finite"),
    ("exp(x)", {"x": 1000.0}, "gives inf"),
])
def test_points_outside_the_domain(text, point, message):
    problem = formula_graph.domain_problem(formulas.parse(text), point)
    assert problem is not None and message in problem


def test_finite_differences_meet_a_kink_differently():
    program = formulas.parse("relu(x)")
    assert formula_graph.build(program, {"x": 0.0}).gradient() == {"x": 0.0}     # torch's subgradient
    assert formula_graph.torch_gradient(program, {"x": 0.0})[1] == {"x": 0.0}
    assert formula_graph.finite_differences(program, {"x": 0.0}, 1e-6)["x"] == pytest.approx(0.5)
    assert math.isclose(formula_graph.value_at(program, {"x": 2.0}), 2.0)
