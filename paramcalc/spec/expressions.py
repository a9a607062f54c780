"""Safe, exact arithmetic for spec values: `planes * 4`, `2 if index == 0 else 1`, `cfg[index][0]`, `25M`.

An expression is parsed with Python's `ast` and evaluated by walking a short whitelist of node kinds;
nothing is ever passed to `eval`, and no attribute of a Python object can be reached. Every number is
exact: literals are read as fractions from their text (`1e20` is exactly 10**20, `0.1` is 1/10), `/`
gives a fraction that becomes an integer again when it divides evenly, and every value is bounded
(paramcalc.literals) as it is made, so each step of an evaluation stays small.

Besides Python's syntax, a number may end in an SI suffix (`25M`, `1.5k`); `true` and `false` are
accepted as YAML writes them. Variables may hold lists and mappings, read with `cfg[i]`, `cfg[i].kernel`
and `len(cfg)`.
"""

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

from ..errors import ExprError, Problem, did_you_mean
from ..limits import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_NESTING,
    MAX_LITERAL_DIGITS,
    MAX_POWER_EXPONENT,
    MAX_ROUND_DIGITS,
)
from .literals import SI_SUFFIXES, bounded, exact, read_decimal, read_number, shorten

_SYNTAX_HINT = "write a number (64, 1e6, 25M) or arithmetic on names (planes * 4)"
_WORDS = {"true": True, "false": False}
_NOT_IN_NAMES = {code: " " for code in range(128) if not chr(code).isalnum() and chr(code) != "_"}

__all__ = ["ExprError", "evaluate", "names_in", "is_integer_text", "read_number", "shorten"]


def is_integer_text(text: str) -> bool:
    """A whole number written in decimal without a leading zero (`64`, `1_000`, `-3`), short enough to read."""
    body = text[1:] if text[:1] in ("+", "-") else text
    return (body.isascii() and body.replace("_", "").isdigit() and (body == "0" or body[0] != "0")
            and "__" not in body and body[-1] != "_" and len(body) <= MAX_LITERAL_DIGITS)


def names_in(text: str) -> list[str]:
    """Every word of a text that could be a name: a superset of the names an expression reads."""
    words = text.translate(_NOT_IN_NAMES).split()
    if not text.isascii():  # other characters end a name too
        words = "".join(c if c.isascii() else " " for c in " ".join(words)).split()
    return [word for word in words if not word[0].isdigit()]


def _make_divisible(value: Any, divisor: Any, min_value: Any = None) -> int:
    """torchvision's `_make_divisible`: round channels to a multiple of divisor, never losing >10%."""
    value, divisor = Fraction(value), int(divisor)
    if divisor < 1:
        raise ValueError("the divisor must be at least 1")
    floor_value = divisor if min_value is None else int(min_value)
    rounded = max(floor_value, int(value + Fraction(divisor, 2)) // divisor * divisor)
    if rounded < Fraction(9, 10) * value:
        rounded += divisor
    return rounded


def _round(value: Any, digits: Any = None) -> Any:
    if digits is None:
        return round(value)
    if not isinstance(digits, int) or isinstance(digits, bool) or abs(digits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round's digits must be a whole number from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}")
    return round(Fraction(value), digits)


def _length(value: Any) -> int:
    if not isinstance(value, (list, tuple, dict)):
        raise ValueError(f"len() takes a list or a mapping, not {_describe(value)}")
    return len(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "abs": abs, "ceil": math.ceil, "floor": math.floor, "round": _round, "int": int,
    "len": _length, "make_divisible": _make_divisible,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


_SUFFIXED = re.compile(r"[0-9.][kKMGT]")  # a digit (or a decimal point) right before a suffix's letter


def _with_suffixes(text: str) -> str:
    """SI suffixes made Python: `25M` -> `(25*1000000)`. Python's tokenizer reads `25M` as the number 25
    followed by the name M; a suffix is such a name, right after the number, that is one of k K M G T.
    (Most expressions have none, and tokenizing costs more than looking for one.)"""
    if _SUFFIXED.search(text) is None:
        return text
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text  # the parser will say what is wrong
    pieces, position = [], 0
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for number, suffix in zip(tokens, tokens[1:]):
        if number.type == tokenize.NUMBER and suffix.type == tokenize.NAME and suffix.string in SI_SUFFIXES \
                and number.end == suffix.start:
            start = offsets[number.start[0] - 1] + number.start[1]
            end = offsets[suffix.end[0] - 1] + suffix.end[1]
            pieces += [text[position:start], f"({number.string}*{SI_SUFFIXES[suffix.string]})"]
            position = end
    return "".join(pieces) + text[position:] if pieces else text


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    """The expression's tree, with each number literal's value replaced by its exact value."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPRESSION_CHARS} characters",
                        hint="split it with variables under 'vars:'")
    source = _with_suffixes(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise _syntax_error(text, err.msg) from None
    except (ValueError, RecursionError, MemoryError):  # a NUL character; nesting beyond the parser's stack
        raise _syntax_error(text, "") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float, complex):
            literal = ast.get_source_segment(source, node) or ""
            node.value = _literal(literal)
    return tree.body


def _literal(text: str) -> Any:
    """A number literal's exact value: decimal, hexadecimal, octal or binary; bounded."""
    if text[-1:] in ("j", "J"):
        raise ExprError(f"'{shorten(text)}' is an imaginary number")
    if text[:2].lower() in ("0x", "0o", "0b"):
        return read_number(text)
    return read_decimal(text.replace("_", ""))


_LEADING_ZERO = re.compile(r"(?<![\w.])0\d+")  # 010 in "2 * 010", not 0 in "1.05" or "x0"


def _syntax_error(text: str, reason: str) -> ExprError:
    if "leading zeros" in reason:
        found = _LEADING_ZERO.search(text)
        number = found.group() if found else "08"
        decimal = number.lstrip("0") or "0"
        octal = f" (0o{decimal} for octal)" if set(decimal) <= set("01234567") else ""
        return ExprError(f"'{shorten(text)}' has a number with a leading zero",
                         hint=f"write {shorten(decimal)} rather than {shorten(number)}{octal}")
    if "digits" in reason:  # Python refuses integer literals of more than 4,300 digits
        return ExprError(f"'{shorten(text)}' has more than {MAX_LITERAL_DIGITS} digits")
    hint = _SYNTAX_HINT
    if text.count("(") > text.count(")") or text.count("[") > text.count("]"):
        hint = ("a bracket is not closed: YAML splits an unquoted {key: f(a, b)} at the comma, so quote an "
                "expression that holds a comma: {out: \"make_divisible(c // 4, 8)\"}")
    return ExprError(f"cannot read '{shorten(text)}' as a number or an expression", hint=hint)


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate one expression with the given names. Raises ExprError."""
    stripped = text.strip()
    if stripped in scope and stripped.isidentifier():
        return scope[stripped]
    if is_integer_text(stripped):
        return bounded(int(stripped))
    try:
        return exact(_Evaluator(text, scope).value(_parse(text), 0))
    except ExprError:
        raise
    except Problem as err:  # a symbolic size that cannot be decided, say
        raise ExprError(err.message, err.hint) from None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"the text '{shorten(value, 30)}'"
    return str(value)


def _is_number(value: Any) -> bool:
    return not isinstance(value, (bool, str, list, tuple, dict)) and value is not None


class _Evaluator:
    def __init__(self, text: str, scope: Mapping[str, Any]) -> None:
        self.text, self.scope = text, scope

    def source(self, node: ast.AST) -> str:
        """The part of the expression a node stands for (a whole-expression fallback after a suffix rewrite)."""
        return shorten(self.text.strip())

    def number(self, node: ast.expr, depth: int) -> Any:
        value = self.value(node, depth)
        if not _is_number(value):
            raise ExprError(f"{_describe(value)} where a number is needed, in '{self.source(node)}'")
        return value

    def value(self, node: ast.expr, depth: int) -> Any:
        """The value of a node of the whitelist; anything else is not part of the language."""
        if depth > MAX_EXPRESSION_NESTING:
            raise ExprError(f"'{shorten(self.text)}' is nested too deeply",
                            hint="split it with variables under 'vars:'")
        rule = self.RULES.get(type(node))
        if rule is None:
            raise ExprError(f"cannot read '{shorten(self.text)}' as a number or an expression", hint=_SYNTAX_HINT)
        return rule(self, node, depth + 1)

    def constant(self, node: ast.Constant, depth: int) -> Any:
        if isinstance(node.value, (str, bool)) or node.value is None or _is_number(node.value):
            return node.value
        raise ExprError(f"cannot read '{shorten(self.text)}' as a number or an expression", hint=_SYNTAX_HINT)

    def unary(self, node: ast.UnaryOp, depth: int) -> Any:
        if isinstance(node.op, ast.Not):
            return not self.truth(self.value(node.operand, depth))
        operand = self.number(node.operand, depth)
        return -operand if isinstance(node.op, ast.USub) else +operand

    def boolean(self, node: ast.BoolOp, depth: int) -> Any:
        result: Any = None
        for item in node.values:
            result = self.value(item, depth)
            if self.truth(result) != isinstance(node.op, ast.And):
                return result
        return result

    def choice(self, node: ast.IfExp, depth: int) -> Any:
        return self.value(node.body if self.truth(self.value(node.test, depth)) else node.orelse, depth)

    RULES: dict[type, Callable[..., Any]] = {
        ast.Constant: constant,
        ast.Name: lambda self, node, depth: self.name(node.id),
        ast.BinOp: lambda self, node, depth: self.binary(node, depth),
        ast.UnaryOp: unary,
        ast.BoolOp: boolean,
        ast.Compare: lambda self, node, depth: self.compare(node, depth),
        ast.IfExp: choice,
        ast.Call: lambda self, node, depth: self.call(node, depth),
        ast.Subscript: lambda self, node, depth: self.item(self.value(node.value, depth), node.slice, depth),
        ast.Attribute: lambda self, node, depth: self.attribute(self.value(node.value, depth), node.attr),
    }

    @staticmethod
    def truth(value: Any) -> bool:
        return bool(value)

    def name(self, name: str) -> Any:
        if name in self.scope:
            return self.scope[name]
        if name in _WORDS:
            return _WORDS[name]
        names = [key for key in self.scope if isinstance(key, str)]
        hint = did_you_mean(name, names) or ("names available here: " + ", ".join(sorted(names)) if names
                                             else "define it under 'vars:' or as a block argument")
        raise ExprError(f"unknown name '{name}'", hint=hint)

    def binary(self, node: ast.BinOp, depth: int) -> Any:
        # a long chain (1 + 2 + ... + n) is a left-leaning tree: walk it with a loop, not recursion
        chain = []
        while isinstance(node.left, ast.BinOp) and not isinstance(node.op, ast.Pow):
            chain.append(node)
            node = node.left
        value = self.apply(node, self.number(node.left, depth), self.number(node.right, depth))
        for link in reversed(chain):
            value = self.apply(link, value, self.number(link.right, depth))
        return value

    def apply(self, node: ast.BinOp, left: Any, right: Any) -> Any:
        try:
            if isinstance(node.op, ast.Div):
                return bounded(Fraction(left) / Fraction(right))
            if isinstance(node.op, ast.Pow):
                if not isinstance(right, int) or abs(right) > MAX_POWER_EXPONENT:
                    raise ExprError(f"exponent {right} is not a whole number up to {MAX_POWER_EXPONENT}")
                if left == 0 and right < 0:
                    raise ExprError("0 cannot be raised to a negative power")
                return bounded(Fraction(left) ** right)
            return bounded(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ExprError(f"division by zero in '{self.source(node)}'") from None
        except TypeError:
            raise ExprError(f"cannot work out {_describe(left)} {_SYMBOLS[type(node.op)]} {_describe(right)}",
                            hint="a size that depends on the input divides only with //") from None

    def compare(self, node: ast.Compare, depth: int) -> bool:
        left = self.value(node.left, depth)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.value(right_node, depth)
            if type(op) not in _COMPARE:
                raise ExprError(f"cannot read '{shorten(self.text)}' as a number or an expression",
                                hint="comparisons are == != < <= > >=")
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {_describe(left)} with {_describe(right)}") from None
            left = right
        return True

    def call(self, node: ast.Call, depth: int) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = name or shorten(self.text)
            raise ExprError(f"unknown function '{shown}'",
                            hint=did_you_mean(shown, FUNCTIONS) or "functions: " + ", ".join(FUNCTIONS))
        if any(isinstance(argument, ast.Starred) for argument in node.args) or any(
                keyword.arg is None for keyword in node.keywords):
            raise ExprError(f"'{shorten(self.text)}': * and ** are not part of spec expressions")
        arguments = [self.value(argument, depth) for argument in node.args]
        keywords = {str(keyword.arg): self.value(keyword.value, depth) for keyword in node.keywords}
        for value in (*arguments, *keywords.values()):
            if not (_is_number(value) or (name in ("len", "min", "max") and isinstance(value, (list, tuple, dict)))):
                raise ExprError(f"{name}() cannot take {_describe(value)}")
        try:
            return bounded(FUNCTIONS[str(name)](*arguments, **keywords))
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError) as err:
            raise ExprError(f"{shorten(self.text)}: {err}") from None

    def item(self, container: Any, index_node: ast.expr, depth: int) -> Any:
        if isinstance(index_node, ast.Slice):
            raise ExprError(f"'{shorten(self.text)}': slices are not part of spec expressions",
                            hint="take one item: cfg[index]")
        index = self.value(index_node, depth)
        if isinstance(container, (list, tuple)):
            if isinstance(index, bool) or not isinstance(index, int):
                raise ExprError(f"a list is indexed by a whole number, not {_describe(index)}")
            if not -len(container) <= index < len(container):
                raise ExprError(f"index {index} is outside a list of {len(container)} items",
                                hint=f"items are numbered from 0 to {len(container) - 1}")
            return container[index]
        if isinstance(container, dict):
            return self.attribute(container, index)
        raise ExprError(f"{_describe(container)} cannot be indexed", hint="only lists and mappings under 'vars:' can")

    def attribute(self, container: Any, key: Any) -> Any:
        if not isinstance(container, dict):
            raise ExprError(f"{_describe(container)} has no field '{key}'",
                            hint="fields are read from mappings under 'vars:', e.g. cfg[index].kernel")
        if key not in container:
            raise ExprError(f"the mapping has no key '{key}'",
                            hint=did_you_mean(str(key), [str(k) for k in container])
                            or "its keys: " + ", ".join(map(str, container)))
        return container[key]
