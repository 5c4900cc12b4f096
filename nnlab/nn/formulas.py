"""A formula over named variables, parsed safely (its graph in the autograd engine: nnlab.nn.formula_graph).

    "u = x**2; v = u + y; w = z*v; r = w**2"     the slide's staging: the nodes are named u, v, w, r
    "z*(x**2 + y)"                               the same r; intermediates are named t1, t2, ..., the output f

Grammar: statements separated by ';' or new lines, each `name = expression`, the last one optionally a
bare expression; numbers, the constants pi and e, + - * / ** and unary + -, and calls of exp, log, relu,
sigmoid, tanh, gelu, leaky_relu(a[, gamma]) and softplus(a[, beta]) (gamma, beta: numbers). Every other
name is a variable. Parsing, limits and the whitelist are nnlab.nn.safe_ast's, shared with approx's targets;
this module adds the statements, the variables and the points.

A point gives every variable a value: "x=1,y=2,z=4" by name or "1,2,4" in alphabetical order.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

from nnlab.nn import safe_ast
from nnlab.nn.safe_ast import CONSTANTS, FormulaError

SLIDE = "u = x**2; v = u + y; w = z*v; r = w**2"
SLIDE_POINT = {"x": 1.0, "y": 2.0, "z": 4.0}

FUNCTIONS: dict[str, tuple[int, int]] = {  # name -> (min args, max args); the 2nd argument is a number
    "exp": (1, 1), "log": (1, 1), "relu": (1, 1), "sigmoid": (1, 1), "tanh": (1, 1), "gelu": (1, 1),
    "leaky_relu": (1, 2), "softplus": (1, 2),
}
BINARY = {op: safe_ast.SYMBOLS[op] for op in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)}  # ast type -> symbol
GRAMMAR = safe_ast.Grammar("formula", "exec", tuple(BINARY), FUNCTIONS)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


@dataclass
class Program:
    """A checked formula: its statements, the variables it reads (sorted) and its output's name."""

    text: str
    statements: list[tuple[str | None, ast.expr]]  # (assigned name or None for a bare last expression, tree)
    variables: list[str]
    output: str


# ----------------------------------------------------------------------------------------------------
# Parsing


def parse(text: str) -> Program:
    """Check `text` and return its Program, or raise FormulaError."""
    tree = safe_ast.parse(text, GRAMMAR)
    if not tree.body:  # only comments
        raise FormulaError("empty formula")
    statements: list[tuple[str | None, ast.expr]] = []
    assigned: set[str] = set()
    used: set[str] = set()
    for i, stmt in enumerate(tree.body):
        last = i == len(tree.body) - 1
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
            _check_name(target, "assign to")
            if target in assigned:
                raise FormulaError(f"{target} is assigned twice")
            if target in used:
                raise FormulaError(f"{target} is used before it is assigned")
            if isinstance(stmt.value, (ast.Name, ast.Constant)):
                raise FormulaError(f"{target} = {ast.unparse(stmt.value)} computes nothing; write the operation")
            expr, name = stmt.value, target
        elif isinstance(stmt, ast.Expr) and last:
            expr, name = stmt.value, None
        else:
            raise FormulaError(f"statement {i + 1} ({ast.unparse(stmt)[:40]!r}) must be `name = expression` "
                               "(a bare expression only last)")
        safe_ast.check_expression(expr, GRAMMAR, _judge)
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
                used.add(node.id)
            if isinstance(node, ast.Call) and len(node.args) == 2:
                call_parameter(node.func.id, node.args[1])
        if name is not None:
            assigned.add(name)
        statements.append((name, expr))
    variables = sorted(used - assigned)
    if not variables:
        raise FormulaError("the formula has no variables")
    output = statements[-1][0] or ("f" if "f" not in variables and "f" not in assigned else "out")
    return Program(text, statements, variables, output)


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise FormulaError(f"cannot {what} {name!r}: names are a letter then letters, digits or _ (at most 32)")
    if name in FUNCTIONS or name in CONSTANTS:
        raise FormulaError(f"cannot {what} {name!r}: it is a function or constant")


def _judge(node: ast.AST) -> bool:
    """This module's own nodes (safe_ast judges the rest): a name that is no function or constant is a variable."""
    if isinstance(node, ast.Name):
        _check_name(node.id, "use")
        return True
    return False


def call_parameter(fn: str, arg: ast.expr) -> float:
    """The numeric second argument of leaky_relu (0 < gamma < 1) or softplus (beta > 0)."""
    value = _constant(arg)
    if value is None:
        raise FormulaError(f"{fn}()'s second argument must be a number")
    if fn == "leaky_relu" and not 0 < value < 1:
        raise FormulaError(f"leaky_relu(a, gamma) needs 0 < gamma < 1, got {value:g}")
    if fn == "softplus" and not 0 < value < math.inf:
        raise FormulaError(f"softplus(a, beta) needs beta > 0, got {value:g}")
    return value


def _constant(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


def parse_point(text: str, variables: list[str]) -> dict[str, float]:
    """'x=1,y=2' (by name) or '1,2' (in the order of `variables`, alphabetical) -> {name: value}."""
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if any(not p for p in parts):
        raise FormulaError(f"empty value in {text!r}")
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        raise FormulaError("give every value by name (x=1,y=2) or none (1,2)")
    values: dict[str, float] = {}
    for i, part in enumerate(parts):
        if named:
            key, _, raw = part.partition("=")
            key = key.strip()
            if key not in variables:
                raise FormulaError(f"{key!r} is not a variable of the formula ({', '.join(variables)})")
            if key in values:
                raise FormulaError(f"{key} is given twice")
        else:
            if i >= len(variables):
                raise FormulaError(f"{len(parts)} values for {len(variables)} variables ({', '.join(variables)})")
            key, raw = variables[i], part
        try:
            value = float(raw)
        except ValueError:
            raise FormulaError(f"{key}: {raw.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise FormulaError(f"{key}: {raw.strip()} is not a finite number")
        values[key] = value
    missing = [v for v in variables if v not in values]
    if missing:
        raise FormulaError(f"no value for {', '.join(missing)} (variables in order: {', '.join(variables)})")
    return values
