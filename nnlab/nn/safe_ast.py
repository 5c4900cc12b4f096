"""The safe-formula core of `approx --target` (nnlab.nn.expressions) and `backprop --expr` (nnlab.nn.formulas):
a user's text parsed by `ast` within size limits, then checked node by node against a whitelist.

Nothing is ever passed to eval or compile: each module walks the checked tree itself, so attribute access,
dunder names, imports, lambdas, comprehensions, keyword arguments and strings cannot even be expressed.
Shared here: the limits, the constants pi and e, the error, and the checks of numbers, operators, calls and
the names of constants and functions. A module says in its Grammar which operators and functions it allows,
and judges the nodes that are its own (approx: the coordinates x, x1.., x[i]; backprop: variable names).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# The limits are checked before anything recursive sees the text (the parser, ast.unparse in messages, the
# modules' evaluators), so no input can exhaust Python's stack; they sit far above what a person writes.
MAX_LENGTH = 600       # characters
MAX_DEPTH = 120        # brackets in the text, and levels of the tree (a chain a + b + c ... nests one level a term)
MAX_OPERATIONS = 200   # BinOp, UnaryOp and Call nodes: a numpy pass each in approx, a graph node each in backprop

CONSTANTS = {"pi": math.pi, "e": math.e}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%"}
UNARY = (ast.UAdd, ast.USub)


class FormulaError(ValueError):
    """The text is not a formula that its module accepts (in backprop also: the point is not usable); one line."""


@dataclass(frozen=True)
class Grammar:
    """What one kind of formula allows beyond numbers, pi, e, unary + and -."""

    noun: str                                    # how messages name the text: "expression", "formula"
    mode: str                                    # ast.parse mode: "eval" (one expression), "exec" (statements)
    operators: tuple[type[ast.operator], ...]    # the binary operators allowed (keys of SYMBOLS)
    functions: Mapping[str, tuple[int, int]]     # called by bare name -> (min args, max args)


def parse(text: str, grammar: Grammar) -> ast.AST:
    """The tree of `text` (ast.Expression or ast.Module, by grammar.mode) within the limits, else FormulaError.

    Its nodes are not judged yet: check_expression does that for each expression in it."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"empty {grammar.noun}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{grammar.noun} longer than {MAX_LENGTH} characters")
    if _bracket_depth(text) > MAX_DEPTH:  # brackets make no tree levels, but the parser recurses on each
        raise FormulaError(f"{grammar.noun} nested deeper than {MAX_DEPTH} levels")
    try:
        tree = ast.parse(text.strip(), mode=grammar.mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise FormulaError(f"not a formula: {getattr(exc, 'msg', None) or exc}") from None
    if _tree_depth(tree) > MAX_DEPTH:
        raise FormulaError(f"{grammar.noun} nested deeper than {MAX_DEPTH} levels")
    if sum(isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)) for node in ast.walk(tree)) > MAX_OPERATIONS:
        raise FormulaError(f"more than {MAX_OPERATIONS} operations")
    return tree


def _bracket_depth(text: str) -> int:
    deepest = depth = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _tree_depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check_expression(expr: ast.expr, grammar: Grammar, judge: Callable[[ast.AST], bool]) -> None:
    """Refuse with a one-line FormulaError any node of `expr` (from parse) off the whitelist.

    Judged here: numbers, operators, calls, and the names pi, e and of the grammar's functions (which must be
    called). judge(node) rules on every other node: it accepts (True), raises its own message, or returns
    False for the generic "... is not allowed"."""
    callees = {id(node.func) for node in ast.walk(expr) if isinstance(node, ast.Call)}
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id in grammar.functions and id(node) not in callees:
            raise FormulaError(f"{node.id} is a function: call it, as {node.id}(...)")
        if isinstance(node, ast.Name) and (node.id in CONSTANTS or node.id in grammar.functions):
            continue
        if not (_check_shared(node, grammar) or judge(node)):
            raise FormulaError(f"{type(node).__name__} is not allowed in a formula")


def _check_shared(node: ast.AST, grammar: Grammar) -> bool:
    """True for an allowed node of a kind that every grammar has; raise for a disallowed one; else False."""
    if isinstance(node, (ast.Load, ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(node, ast.operator):
        if type(node) not in grammar.operators:
            allowed = " ".join(SYMBOLS[op] for op in grammar.operators)
            raise FormulaError(f"operator {type(node).__name__} is not allowed (use {allowed})")
        return True
    if isinstance(node, ast.unaryop):
        if not isinstance(node, UNARY):
            raise FormulaError(f"operator {type(node).__name__} is not allowed")
        return True
    if isinstance(node, ast.Constant):
        number(node)
        return True
    if isinstance(node, ast.Call):
        _check_call(node, grammar.functions)
        return True
    return False


def number(node: ast.Constant) -> float:
    """The value of a numeric constant as a finite float64; anything else (strings, True, 1e400) is refused."""
    if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
        raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
    try:
        value = float(node.value)
    except OverflowError:  # an integer literal beyond float64
        value = math.inf
    if not math.isfinite(value):
        raise FormulaError("a constant is too large to be a finite float64 number")
    return value


def _check_call(node: ast.Call, functions: Mapping[str, tuple[int, int]]) -> None:
    func = node.func
    if not (isinstance(func, ast.Name) and func.id in functions):
        shown = repr(func.id if isinstance(func, ast.Name) else ast.unparse(func)[:60])
        raise FormulaError(f"calling {shown} is not allowed; call by bare name one of {', '.join(functions)}")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise FormulaError(f"{func.id}() takes positional arguments only")
    lo, hi = functions[func.id]
    if not lo <= len(node.args) <= hi:
        count = lo if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}"
        raise FormulaError(f"{func.id}() takes {count} argument(s)")
