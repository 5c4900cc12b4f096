"""A user's target formula in x, parsed with `ast` against a whitelist and evaluated on numpy arrays.

    "sin(2*pi*x1) * exp(-x[1]**2)"   ->   f: (..., d) array -> (...) array

Allowed: numbers; the names x, x1..xd (1-based), pi and e; x[i] with an integer constant i (0-based);
+ - * / ** % and unary + -; calls by bare name to the functions in FUNCTIONS. The tree is checked node by
node (nnlab.nn.safe_ast, shared with backprop's formulas), then walked by `_evaluate` on numpy arrays.
A bare `x` is the whole (n, d) point; sum / mean / norm / min / max with one argument reduce it over
the coordinates, so `norm(x - 0.5)` is the distance to the cube's centre.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import numpy as np

from nnlab.nn import safe_ast
from nnlab.nn.safe_ast import CONSTANTS, FormulaError

Array = np.ndarray


def _fold(ufunc: Callable) -> Callable:
    """min / max: one argument reduces over the coordinates, several are compared elementwise."""

    def fn(*args: Array) -> Array:
        if len(args) == 1:
            a = np.asarray(args[0])
            return ufunc.reduce(a, axis=-1) if a.ndim == 2 else a
        return ufunc.reduce(np.broadcast_arrays(*args))

    return fn


def _reduce(fn: Callable) -> Callable:
    def apply(a: Array) -> Array:
        a = np.asarray(a)
        return fn(a, axis=-1) if a.ndim == 2 else fn(a[..., None], axis=-1)

    return apply


FUNCTIONS: dict[str, tuple[Callable, tuple[int, int]]] = {  # name -> (function, (min args, max args))
    **{name: (getattr(np, name), (1, 1)) for name in
       ("sin", "cos", "tan", "exp", "log", "log1p", "sqrt", "abs", "tanh", "sinh", "cosh", "arctan",
        "floor", "ceil", "sign")},
    "atan": (np.arctan, (1, 1)),
    "minimum": (np.minimum, (2, 2)),
    "maximum": (np.maximum, (2, 2)),
    "min": (_fold(np.minimum), (1, 16)),
    "max": (_fold(np.maximum), (1, 16)),
    "sum": (_reduce(np.sum), (1, 1)),
    "mean": (_reduce(np.mean), (1, 1)),
    "norm": (lambda a: np.sqrt(_reduce(np.sum)(np.square(a))), (1, 1)),
}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Pow: np.power, ast.Mod: np.mod}
_UNARY = {ast.UAdd: np.positive, ast.USub: np.negative}
_COORD = re.compile(r"^x([1-9][0-9]*)$")
GRAMMAR = safe_ast.Grammar("expression", "eval", tuple(_BINARY),
                           {name: arity for name, (_, arity) in FUNCTIONS.items()})
ExpressionError = FormulaError  # the one error of every refused formula, approx's and backprop's


def parse(text: str, dims: int) -> ast.Expression:
    """Check `text` as a formula in x of `dims` coordinates; return its tree or raise ExpressionError."""
    tree = safe_ast.parse(text, GRAMMAR)
    safe_ast.check_expression(tree.body, GRAMMAR, lambda node: _judge(node, dims))
    if not any(isinstance(n, ast.Name) and (n.id == "x" or _COORD.match(n.id)) for n in ast.walk(tree)):
        raise ExpressionError("the expression does not depend on x (use x, x[0], x1, ...)")
    return tree


def _judge(node: ast.AST, dims: int) -> bool:
    """This module's own nodes (safe_ast judges the rest): the coordinates x, x1..xd and x[i]."""
    if isinstance(node, ast.Name):
        name = node.id
        match = _COORD.match(name)
        if match:
            if int(match.group(1)) > dims:
                raise ExpressionError(f"{name} needs d >= {match.group(1)}, but d = {dims}")
            return True
        if name == "x":
            return True
        raise ExpressionError(f"unknown name {name!r}: use x, x1..x{dims}, pi, e or a function "
                              f"({', '.join(FUNCTIONS)})")
    if isinstance(node, ast.Subscript):
        index = node.slice
        if not (isinstance(node.value, ast.Name) and node.value.id == "x"):
            raise ExpressionError("only x can be indexed, as x[i]")
        if not (isinstance(index, ast.Constant) and type(index.value) is int):
            raise ExpressionError("x[i] needs an integer constant i")
        if not 0 <= index.value < dims:
            raise ExpressionError(f"x[{index.value}] is outside x[0]..x[{dims - 1}] (d = {dims})")
        return True
    return False


def _evaluate(node: ast.AST, x: Array) -> Array | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, x)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id == "x":
            return x
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        return x[:, int(node.id[1:]) - 1]
    if isinstance(node, ast.Subscript):
        return x[:, node.slice.value]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, x))
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, x), _evaluate(node.right, x))
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id][0](*(_evaluate(a, x) for a in node.args))
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # unreachable after parse()


def compile_expression(text: str, dims: int) -> Callable[[Array], Array]:
    """f(x): (..., dims) -> (...), float64. Shape and finiteness are checked when it is called."""
    tree = parse(text, dims)

    def f(x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(-1, dims)  # (n, d): the evaluator works on rows
        with np.errstate(all="ignore"):
            y = np.asarray(_evaluate(tree, flat), dtype=np.float64)
        if y.ndim == 2:
            raise ExpressionError("the expression gives a vector per point; use x[i], x1 or sum(...) / norm(...)")
        return np.broadcast_to(y, flat.shape[:1]).reshape(x.shape[:-1]).copy()

    return f


def check(text: str, dims: int, rng: np.random.Generator | None = None, extra: Array | None = None) -> str | None:
    """Why `text` is not a usable target on [0, 1]^dims (including non-finite values), or None.

    extra: (n, dims) points that will be evaluated later (a grid), so a singularity on them is caught here.
    """
    try:
        f = compile_expression(text, dims)
        rng = rng or np.random.default_rng(0)
        probe = np.vstack([np.zeros((1, dims)), np.ones((1, dims)), rng.random((254, dims)),
                           np.empty((0, dims)) if extra is None else extra])
        y = f(probe)
    except ExpressionError as exc:
        return str(exc)
    except (ArithmeticError, ValueError, TypeError, MemoryError) as exc:
        return f"cannot be evaluated: {type(exc).__name__}"
    if not np.all(np.isfinite(y)):
        return f"the expression is not finite everywhere on [0, 1]^d (checked on {len(probe)} points)"
    return None
