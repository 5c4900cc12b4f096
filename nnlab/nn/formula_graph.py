"""A parsed formula (nnlab.nn.formulas) staged into a graph of the autograd engine, and the same formula in
torch and by central finite differences, to check the engine's gradient against both."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab.nn import autograd
from nnlab.nn.formulas import BINARY, Program, call_parameter
from nnlab.nn.safe_ast import CONSTANTS, FormulaError


@dataclass
class Node:
    name: str
    definition: str          # "x ** 2", "u + y", or "variable"
    tensor: autograd.Tensor
    parents: list[str] = field(default_factory=list)



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
            op = BINARY[type(node.op)]
            if isinstance(a, float) and isinstance(b, float):
                with np.errstate(all="ignore"):
                    return float(_binary(op, np.float64(a), np.float64(b))), f"({ta} {op} {tb})"
            parents = [t for t, v in ((ta, a), (tb, b)) if not isinstance(v, float)]
            return done(_binary(op, a, b), f"{ta} {op} {tb}", parents, name)
        assert isinstance(node, ast.Call)
        fn = node.func.id
        a, ta = ev(node.args[0])
        param = call_parameter(fn, node.args[1]) if len(node.args) == 2 else None
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
