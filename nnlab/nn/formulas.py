"""A formula over named variables, parsed safely, staged into a computational graph of the autograd engine.

    "u = x**2; v = u + y; w = z*v; r = w**2"     the slide's staging: the nodes are named u, v, w, r
    "z*(x**2 + y)"                               the same r; intermediates are named t1, t2, ..., the output f

Grammar: statements separated by ';' or new lines, each `name = expression`, the last one optionally a
bare expression; numbers, the constants pi and e, + - * / ** and unary + -, and calls of exp, log, relu,
sigmoid, tanh, gelu, leaky_relu(a[, gamma]) and softplus(a[, beta]) (gamma, beta: numbers). Every other
name is a variable. The approach of nnlab.nn.expressions: `ast.parse`, then every node checked against
a whitelist; nothing reaches eval or compile, so attributes, subscripts, imports, lambdas and strings
cannot be expressed. Size is bounded (characters, nesting depth, operations).

A point gives every variable a value: "x=1,y=2,z=4" by name or "1,2,4" in alphabetical order.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab.nn import autograd

MAX_LENGTH = 600
MAX_DEPTH = 120      # nesting of the syntax tree (a chain a + b + c + ... nests one level a term)
MAX_OPERATIONS = 200
SLIDE = "u = x**2; v = u + y; w = z*v; r = w**2"
SLIDE_POINT = {"x": 1.0, "y": 2.0, "z": 4.0}

FUNCTIONS: dict[str, tuple[int, int]] = {  # name -> (min args, max args); the 2nd argument is a number
    "exp": (1, 1), "log": (1, 1), "relu": (1, 1), "sigmoid": (1, 1), "tanh": (1, 1), "gelu": (1, 1),
    "leaky_relu": (1, 2), "softplus": (1, 2),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


class FormulaError(ValueError):
    """The text or the point is not usable; the message is one line."""


@dataclass
class Program:
    """A checked formula: its statements, the variables it reads (sorted) and its output's name."""

    text: str
    statements: list[tuple[str | None, ast.expr]]  # (assigned name or None for a bare last expression, tree)
    variables: list[str]
    output: str


@dataclass
class Node:
    name: str
    definition: str          # "x ** 2", "u + y", or "variable"
    tensor: autograd.Tensor
    parents: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------
# Parsing


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse(text: str) -> Program:
    """Check `text` and return its Program, or raise FormulaError."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise FormulaError(f"not a formula: {getattr(exc, 'msg', None) or exc}") from None
    if _depth(tree) > MAX_DEPTH:
        raise FormulaError(f"formula nested deeper than {MAX_DEPTH} levels")
    if not tree.body:
        raise FormulaError("empty formula")
    statements: list[tuple[str | None, ast.expr]] = []
    assigned: set[str] = set()
    used: set[str] = set()
    operations = 0
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
        for node in ast.walk(expr):
            operations += _check(node)
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
                used.add(node.id)
        if operations > MAX_OPERATIONS:
            raise FormulaError(f"more than {MAX_OPERATIONS} operations")
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


def _check(node: ast.AST) -> int:
    """Refuse anything off the whitelist; return 1 for an operation, else 0."""
    if isinstance(node, (ast.Load, ast.operator, ast.unaryop)):
        if isinstance(node, ast.operator) and type(node) not in _BINARY:
            raise FormulaError(f"operator {type(node).__name__} is not allowed (use + - * / **)")
        if isinstance(node, ast.unaryop) and not isinstance(node, (ast.USub, ast.UAdd)):
            raise FormulaError(f"operator {type(node).__name__} is not allowed")
        return 0
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
        try:
            value = float(node.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise FormulaError("a constant is too large to be a finite float64 number")
        return 0
    if isinstance(node, ast.Name):
        if node.id not in FUNCTIONS and node.id not in CONSTANTS:
            _check_name(node.id, "use")
        return 0
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return 1
    if isinstance(node, ast.Call):
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in FUNCTIONS):
            shown = func.id if isinstance(func, ast.Name) else ast.unparse(func)[:40]
            raise FormulaError(f"calling {shown!r} is not allowed; functions: {', '.join(FUNCTIONS)}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(f"{func.id}() takes positional arguments only")
        lo, hi = FUNCTIONS[func.id]
        if not lo <= len(node.args) <= hi:
            raise FormulaError(f"{func.id}() takes {lo if lo == hi else f'{lo} or {hi}'} argument(s)")
        if len(node.args) == 2:
            _parameter(func.id, node.args[1])
        return 1
    raise FormulaError(f"{type(node).__name__} is not allowed in a formula")


def _parameter(fn: str, arg: ast.expr) -> float:
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


# ----------------------------------------------------------------------------------------------------
# Building the graph (the engine) and the same formula in torch


def _apply(fn: str, a: Any, param: float | None, lib: str) -> Any:
    """One function applied to an engine Tensor (lib "engine") or a torch tensor (lib "torch")."""
    if lib == "engine":
        if fn == "leaky_relu":
            return a.leaky_relu(0.01 if param is None else param)
        if fn == "softplus":
            return a.softplus(1.0 if param is None else param)
        return getattr(a, fn)()
    import torch
    import torch.nn.functional as F

    if fn == "leaky_relu":
        return F.leaky_relu(a, 0.01 if param is None else param)
    if fn == "softplus":  # the exact log(1 + e^(beta a)) / beta, as the engine (F.softplus has a threshold)
        beta = 1.0 if param is None else param
        return torch.logaddexp(torch.zeros_like(a), beta * a) / beta
    if fn == "gelu":
        return F.gelu(a, approximate="none")
    return getattr(torch, fn)(a)


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def _walk(program: Program, leaf: Callable[[str], Any], lib: str, record: Callable | None = None) -> Any:
    """Evaluate the program with `leaf(name)` for each variable, in the engine or in torch.

    Constants stay python floats (so torch uses its Tensor-Scalar operations, as the engine its constant
    exponent). `record(value, definition, parents, name)` is called for each operation on the variables
    and returns the node's name (the statement's name for the operation at a statement's root)."""
    env: dict[str, Any] = {}

    def done(value: Any, definition: str, parents: list[str], name: str | None) -> tuple[Any, str]:
        return value, (record(value, definition, parents, name) if record else f"({definition})")

    def ev(node: ast.expr, name: str | None = None) -> tuple[Any, str]:
        if isinstance(node, ast.Constant):
            return float(node.value), repr(node.value)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id], node.id
            if node.id not in env:
                env[node.id] = leaf(node.id)
            return env[node.id], node.id
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return ev(node.operand, name)
            value, text = ev(node.operand)
            if isinstance(value, float):
                return -value, f"-{text}"
            return done(-value, f"-{text}", [text], name)
        if isinstance(node, ast.BinOp):
            (a, ta), (b, tb) = ev(node.left), ev(node.right)
            op = _BINARY[type(node.op)]
            if isinstance(a, float) and isinstance(b, float):
                with np.errstate(all="ignore"):
                    return float(_binary(op, np.float64(a), np.float64(b))), f"({ta} {op} {tb})"
            parents = [t for t, v in ((ta, a), (tb, b)) if not isinstance(v, float)]
            return done(_binary(op, a, b), f"{ta} {op} {tb}", parents, name)
        assert isinstance(node, ast.Call)
        fn = node.func.id
        a, ta = ev(node.args[0])
        param = _parameter(fn, node.args[1]) if len(node.args) == 2 else None
        shown = f"{fn}({ta})" if param is None else f"{fn}({ta}, {param:g})"
        if isinstance(a, float):  # a function of constants is a constant
            arg = autograd.Tensor(a) if lib == "engine" else _torch_constant(a)
            with np.errstate(all="ignore"):
                return float(_apply(fn, arg, param, lib)), shown
        return done(_apply(fn, a, param, lib), shown, [ta], name)

    result: Any = None
    for i, (name, expr) in enumerate(program.statements):
        top = name or (program.output if i == len(program.statements) - 1 else None)
        result, _ = ev(expr, top)
        if name is not None:
            env[name] = result
    return result, env


def _torch_constant(value: float):
    import torch

    return torch.tensor(value, dtype=torch.float64)


@dataclass
class Graph:
    """The formula evaluated at a point by the engine, after its backward pass."""

    nodes: list[Node]            # variables first, then operations in the order they were computed
    output: autograd.Tensor
    variables: dict[str, autograd.Tensor]

    @property
    def value(self) -> float:
        return self.output.item()

    def gradient(self) -> dict[str, float]:
        return {k: (float(t.grad) if t.grad is not None else 0.0) for k, t in self.variables.items()}


def build(program: Program, point: dict[str, float], backward: bool = True) -> Graph:
    """Forward pass through the engine at `point`, then (by default) the backward pass from the output."""
    variables = {v: autograd.Tensor(point[v], requires_grad=True, name=v) for v in program.variables}
    nodes = [Node(v, "variable", t) for v, t in variables.items()]
    taken = set(program.variables) | {n for n, _ in program.statements if n} | {program.output}
    counter = iter(range(1, 10**6))

    def record(value: autograd.Tensor, definition: str, parents: list[str], name: str | None) -> str:
        if name is None:
            name = next(f"t{k}" for k in counter if f"t{k}" not in taken)
        value.name = name
        nodes.append(Node(name, definition, value, parents))
        return name

    with np.errstate(all="ignore"):
        output, _ = _walk(program, variables.__getitem__, "engine", record)
        if not isinstance(output, autograd.Tensor) or not output.parents:
            raise FormulaError("the output must be an operation on the variables")
        if backward:
            output.backward()
    return Graph(nodes, output, variables)


def torch_gradient(program: Program, point: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The same formula through torch autograd (float64): (value, {variable: partial derivative})."""
    import torch

    leaves = {v: torch.tensor(point[v], dtype=torch.float64, requires_grad=True) for v in program.variables}
    output, _ = _walk(program, leaves.__getitem__, "torch")
    (grads) = torch.autograd.grad(output, list(leaves.values()), allow_unused=True)
    return output.detach().item(), {v: (float(g) if g is not None else 0.0) for v, g in zip(leaves, grads, strict=True)}


def value_at(program: Program, point: dict[str, float]) -> float:
    """f(point) by the engine without a graph (for finite differences)."""
    with autograd.no_grad(), np.errstate(all="ignore"):
        leaves = {v: autograd.Tensor(point[v]) for v in program.variables}
        output, _ = _walk(program, leaves.__getitem__, "engine")
    return float(output.data) if isinstance(output, autograd.Tensor) else float(output)


def finite_differences(program: Program, point: dict[str, float], step: float) -> dict[str, float]:
    """Central differences (f(p + h e_i) - f(p - h e_i)) / 2h with h = step * max(1, |p_i|); error O(h^2)."""
    grads = {}
    for v in program.variables:
        h = step * max(1.0, abs(point[v]))
        hi, lo = dict(point), dict(point)
        hi[v] += h
        lo[v] -= h
        grads[v] = (value_at(program, hi) - value_at(program, lo)) / (hi[v] - lo[v])
    return grads


def domain_problem(program: Program, point: dict[str, float]) -> str | None:
    """Why the formula or its gradient is not defined (finite) at `point`, or None."""
    graph = build(program, point)
    shown = ", ".join(f"{k}={v:g}" for k, v in point.items())
    for node in graph.nodes[len(program.variables):]:
        if not np.all(np.isfinite(node.tensor.data)):
            return (f"the formula is undefined at {shown}: {node.name} = {node.definition} "
                    f"gives {float(node.tensor.data)}")
    for node in graph.nodes:
        if node.tensor.grad is not None and not np.all(np.isfinite(node.tensor.grad)):
            where = "" if node.definition == "variable" else f" ({node.name} = {node.definition})"
            return (f"the derivative is not finite at {shown}: d{graph.output.name}/d{node.name} = "
                    f"{float(node.tensor.grad)}{where}")
    return None
