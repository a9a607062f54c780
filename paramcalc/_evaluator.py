"""The expression parser and evaluator behind paramcalc.expr: a whitelist walk over Python's ast."""

from __future__ import annotations

import ast
import io
import math
import operator
import re
import tokenize
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Mapping

from .errors import did_you_mean
from .expr import SI_SUFFIXES, ExprError, exact, parse_number, shorten
from .limits import MAX_EXPRESSION_CHARS, MAX_MAGNITUDE, MAX_POWER_EXPONENT


def _make_divisible(value: Any, divisor: Any, min_value: Any = None) -> int:
    """torchvision's `_make_divisible`: round channels to a multiple of divisor, never losing >10%."""
    value, divisor = Fraction(value), int(divisor)
    floor_value = divisor if min_value is None else int(min_value)
    rounded = max(floor_value, int(value + Fraction(divisor, 2)) // divisor * divisor)
    if rounded < Fraction(9, 10) * value:
        rounded += divisor
    return rounded


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "round": round,
    "int": int,
    "make_divisible": _make_divisible,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@lru_cache(maxsize=4096)
def _compile(text: str) -> tuple[ast.expr, tuple[int | Fraction, ...], tuple[str, ...]]:
    """Parse once; numeric literals become placeholders bound to their exact values."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    source, numbers, literals = _replace_numbers(text)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ExprError(f"cannot read '{shorten(text)}' as a number or an expression",
                        hint="write a number (64, 1e6, 25M) or arithmetic on names (planes * 4)") from None
    return tree.body, tuple(numbers), tuple(literals)


def _replace_numbers(text: str) -> tuple[str, list[int | Fraction], list[str]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise ExprError(f"cannot read '{shorten(text)}' as a number or an expression") from None
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(row_col: tuple[int, int]) -> int:
        return line_starts[row_col[0] - 1] + row_col[1]

    pieces, numbers, literals, cursor = [], [], [], 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == tokenize.NUMBER:
            start, end, literal = offset(token.start), offset(token.end), token.string
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if (following is not None and following.type == tokenize.NAME
                    and following.string in SI_SUFFIXES and following.start == token.end):
                literal += following.string
                end = offset(following.end)
                index += 1
            if literal.lower().endswith("j"):
                raise ExprError(f"'{literal}' is not a real number")
            pieces.append(text[cursor:start])
            pieces.append(f" __number{len(numbers)} ")  # spaced, so nothing can glue onto the placeholder
            numbers.append(parse_number(literal))
            literals.append(literal)
            cursor = end
        index += 1
    pieces.append(text[cursor:])
    return "".join(pieces), numbers, literals


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate one expression with the given names. Raises ExprError."""
    tree, numbers, literals = _compile(text)
    try:
        return exact(_Evaluator(scope, numbers, literals).visit(tree))
    except RecursionError:
        raise ExprError(f"'{shorten(text)}' is nested too deeply",
                        hint="split it with variables under 'vars:'") from None


_PLACEHOLDER = re.compile(r"__number(\d+)")


class _Evaluator:
    def __init__(self, scope: Mapping[str, Any], numbers: tuple[int | Fraction, ...],
                 literals: tuple[str, ...]) -> None:
        self.scope = scope
        self.numbers = numbers
        self.literals = literals

    def text(self, node: ast.AST) -> str:
        """The source of a sub-expression as the user wrote its numbers."""
        return _PLACEHOLDER.sub(lambda m: self.literals[int(m.group(1))], ast.unparse(node))

    def visit(self, node: ast.expr) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExprError(f"'{self.text(node)}' is not allowed in a spec expression",
                            hint="use numbers, names, + - * / // % **, comparisons, 'and'/'or'/'not', "
                                 "'a if cond else b' and " + ", ".join(FUNCTIONS))
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (str, bool)) or node.value is None:
            return node.value
        raise ExprError(f"'{node.value!r}' is not allowed in a spec expression")

    def visit_Name(self, node: ast.Name) -> Any:
        name = node.id
        placeholder = _PLACEHOLDER.fullmatch(name)
        if placeholder:
            return self.bounded(self.numbers[int(placeholder.group(1))])
        if name in self.scope:
            return self.scope[name]
        if name in ("true", "false"):
            return name == "true"
        raise ExprError(f"unknown name '{name}'",
                        hint=did_you_mean(name, self.scope) or
                        ("names available here: " + ", ".join(sorted(self.scope)) if self.scope
                         else "define it under 'vars:' or as a block argument"))

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.number(node.left), self.number(node.right)
        op = type(node.op)
        try:
            if op is ast.Div:
                return exact(Fraction(left) / Fraction(right))
            if op is ast.Pow:
                return self.power(left, right)
            if op in _BINARY:
                result = _BINARY[op](left, right)
            else:
                raise ExprError(f"operator in '{self.text(node)}' is not allowed")
        except ZeroDivisionError:
            raise ExprError(f"division by zero in '{self.text(node)}'") from None
        return self.bounded(result)

    def power(self, base: Any, exponent: Any) -> Any:
        if not isinstance(exponent, int) or abs(exponent) > MAX_POWER_EXPONENT:
            raise ExprError(f"exponent {exponent} is not a whole number up to {MAX_POWER_EXPONENT}")
        if base == 0 and exponent < 0:
            raise ExprError("0 cannot be raised to a negative power")
        return self.bounded(exact(Fraction(base) ** exponent))

    def bounded(self, value: Any) -> Any:
        if abs(value) > MAX_MAGNITUDE:
            raise ExprError(f"a value exceeds {MAX_MAGNITUDE:.0e} in magnitude")
        return value

    def number(self, node: ast.expr) -> Any:
        value = self.visit(node)
        if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
            raise ExprError(f"'{self.text(node)}' is {value!r}, not a number")
        return value

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            return not self.visit(node.operand)
        value = self.number(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        raise ExprError(f"'{self.text(node)}' is not allowed")

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self.visit(operand)
            if bool(value) != is_and:
                return value
        return value

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            if type(op) not in _COMPARE:
                raise ExprError(f"comparison in '{self.text(node)}' is not allowed")
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {left!r} with {right!r}") from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = self.text(node.func)
            raise ExprError(f"unknown function '{name}'",
                            hint=did_you_mean(name, FUNCTIONS) or "functions: " + ", ".join(FUNCTIONS))
        args = [self.number(arg) for arg in node.args]
        kwargs = {kw.arg: self.number(kw.value) for kw in node.keywords if kw.arg}
        try:
            return self.bounded(exact(FUNCTIONS[node.func.id](*args, **kwargs)))
        except (TypeError, ValueError, ZeroDivisionError) as err:
            raise ExprError(f"{self.text(node)}: {err}") from None
