"""The expression language of specs: a small Python subset, parsed and evaluated here.

A hand-written parser rather than Python's `ast`: the language is small, nothing outside it can be
expressed at all (no attributes, subscripts, lambdas or imports), and it costs no import time.

    expression := test ['if' test 'else' expression]
    test       := and_test ('or' and_test)*          and_test := not_test ('and' not_test)*
    not_test   := 'not' not_test | comparison         comparison := sum (('=='|'!='|'<'|'<='|'>'|'>=') sum)*
    sum        := term (('+'|'-') term)*             term := factor (('*'|'/'|'//'|'%') factor)*
    factor     := ('+'|'-') factor | power            power := atom ['**' factor]
    atom       := number | name | string | '(' expression ')' | function '(' arguments ')'

Numbers are exact: `1e20` is 10**20, `0.1` is 1/10, `/` gives a fraction (an int again when whole).
"""

from __future__ import annotations

import math
import operator
import re
from functools import lru_cache

from .errors import did_you_mean
from .expr import ExprError, exact, parse_number, shorten
from .limits import MAX_EXPRESSION_CHARS, MAX_MAGNITUDE, MAX_POWER_EXPONENT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Mapping

MAX_DEPTH = 100  # parentheses and operators inside each other

TOKEN_PATTERN = r"""
    \s*(?:
      (?P<number>(?:0[xXoObB][0-9a-fA-F_]+|(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?)
                 [kKMGT]?(?![A-Za-z0-9_]))
     |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
     |(?P<string>'[^'\n]*'|"[^"\n]*")
     |(?P<op>\*\*|//|==|!=|<=|>=|[-+*/%<>(),=])
    )"""
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_START = frozenset(_LETTERS)
_NAME_CHARS = frozenset(_LETTERS + "0123456789")
_DIGITS = frozenset("0123456789")
_NUMBER_GOES_ON = _NAME_CHARS | {"."}  # after digits: a fraction, an exponent, a suffix, hex...
_OPERATORS_2 = ("**", "//", "==", "!=", "<=", ">=")
_OPERATORS_1 = frozenset("-+*/%<>(),=")
_WORDS = {"True": True, "False": False, "None": None, "true": True, "false": False}
_KEYWORDS = {"if", "else", "and", "or", "not"}


def _make_divisible(value: Any, divisor: Any, min_value: Any = None) -> int:
    """torchvision's `_make_divisible`: round channels to a multiple of divisor, never losing >10%."""
    from fractions import Fraction

    value, divisor = Fraction(value), int(divisor)
    floor_value = divisor if min_value is None else int(min_value)
    rounded = max(floor_value, int(value + Fraction(divisor, 2)) // divisor * divisor)
    if rounded < Fraction(9, 10) * value:
        rounded += divisor
    return rounded


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "abs": abs, "ceil": math.ceil, "floor": math.floor, "round": round, "int": int,
    "make_divisible": _make_divisible,
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv,
               "%": operator.mod}
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}
_SYNTAX_HINT = "write a number (64, 1e6, 25M) or arithmetic on names (planes * 4)"


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) for each token, as TOKEN_PATTERN reads them.

    Names, whole numbers, operators, quoted strings and spaces, which most expressions are made of, are
    split here; for anything else (fractions, exponents, suffixes, hex, other spaces, mistakes) the text
    goes to the pattern, compiled on first need: compiling it cost every command ~1 ms."""
    result, position, size = [], 0, len(text.rstrip())
    while position < size:
        char, start = text[position], position
        if char == " ":
            position += 1
            continue
        if char in _NAME_START:
            while position < size and text[position] in _NAME_CHARS:
                position += 1
            kind = "name"
        elif char in _DIGITS:
            while position < size and text[position] in _DIGITS:
                position += 1
            if position < size and text[position] in _NUMBER_GOES_ON:
                return _pattern_tokens(text)
            kind = "number"
        elif text.startswith(_OPERATORS_2, position):
            position, kind = position + 2, "op"
        elif char in _OPERATORS_1:
            position, kind = position + 1, "op"
        elif char == "'" or char == '"':
            end = text.find(char, position + 1)
            if end < 0 or "\n" in text[position:end]:
                return _pattern_tokens(text)
            position, kind = end + 1, "string"
        else:
            return _pattern_tokens(text)
        result.append((kind, text[start:position], start, position))
    return result


@lru_cache(maxsize=1)
def _token_regex() -> re.Pattern[str]:
    return re.compile(TOKEN_PATTERN, re.VERBOSE)


def _pattern_tokens(text: str) -> list[tuple[str, str, int, int]]:
    result, position, size, pattern = [], 0, len(text.rstrip()), _token_regex()
    while position < size:
        match = pattern.match(text, position)
        if match is None or match.end() == position:
            raise ExprError(f"cannot read '{shorten(text)}' as a number or an expression", hint=_SYNTAX_HINT)
        kind = match.lastgroup or "op"
        value = match.group(kind)
        result.append((kind, value, match.start(kind), match.end(kind)))
        position = match.end()
    return result


class _Parser:
    """Recursive descent over the tokens; the tree is nested tuples ('kind', start, end, ...)."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.index, self.depth = text, _tokens(text), 0, 0

    def fail(self) -> ExprError:
        return ExprError(f"cannot read '{shorten(self.text)}' as a number or an expression", hint=_SYNTAX_HINT)

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def accept(self, *values: str) -> tuple[str, str, int, int] | None:
        token = self.peek()
        if token is not None and token[0] in ("op", "name") and token[1] in values:
            self.index += 1
            return token
        return None

    def expect(self, value: str) -> tuple[str, str, int, int]:
        token = self.accept(value)
        if token is None:
            raise self.fail()
        return token

    def parse(self) -> tuple:
        tree = self.expression()
        if self.peek() is not None:
            raise self.fail()
        return tree

    def nested(self, rule: Callable[[], tuple]) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"'{shorten(self.text)}' is nested too deeply",
                            hint="split it with variables under 'vars:'")
        try:
            return rule()
        finally:
            self.depth -= 1

    def expression(self) -> tuple:
        body = self.nested(self.test)
        if self.accept("if"):
            condition = self.test()
            self.expect("else")
            otherwise = self.nested(self.expression)
            return ("if", body[1], otherwise[2], condition, body, otherwise)
        return body

    def test(self) -> tuple:
        return self.chain(self.and_test, ("or",), "or")

    def and_test(self) -> tuple:
        return self.chain(self.not_test, ("and",), "and")

    def chain(self, rule: Callable[[], tuple], words: tuple[str, ...], kind: str) -> tuple:
        first = rule()
        items = [first]
        while self.accept(*words):
            items.append(rule())
        return first if len(items) == 1 else (kind, first[1], items[-1][2], items)

    def not_test(self) -> tuple:
        token = self.accept("not")
        if token:
            operand = self.nested(self.not_test)
            return ("not", token[2], operand[2], operand)
        return self.comparison()

    def comparison(self) -> tuple:
        first = self.sum()
        pairs = []
        while (token := self.accept(*_COMPARE)) is not None:
            pairs.append((token[1], self.sum()))
        return first if not pairs else ("compare", first[1], pairs[-1][1][2], first, pairs)

    def binary(self, operand: Callable[[], tuple], operators: tuple[str, ...]) -> tuple:
        left = operand()
        while (token := self.accept(*operators)) is not None:
            right = operand()
            left = ("binary", left[1], right[2], token[1], left, right)
        return left

    def sum(self) -> tuple:
        return self.binary(self.term, ("+", "-"))

    def term(self) -> tuple:
        return self.binary(self.factor, ("*", "/", "//", "%"))

    def factor(self) -> tuple:
        token = self.accept("+", "-")
        if token:
            operand = self.nested(self.factor)
            return ("unary", token[2], operand[2], token[1], operand)
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        if self.accept("**"):
            exponent = self.nested(self.factor)
            return ("binary", base[1], exponent[2], "**", base, exponent)
        return base

    def atom(self) -> tuple:
        token = self.peek()
        if token is None:
            raise self.fail()
        kind, value, start, end = token
        self.index += 1
        if kind == "number":
            return ("constant", start, end, parse_number(value))
        if kind == "string":
            return ("constant", start, end, value[1:-1])
        if kind == "name" and value not in _KEYWORDS:
            if value in _WORDS:
                return ("constant", start, end, _WORDS[value])
            if self.accept("("):
                return self.call(value, start)
            return ("name", start, end, value)
        if value == "(":
            inner = self.nested(self.expression)
            close = self.expect(")")
            return (inner[0], start, close[3], *inner[3:])
        raise self.fail()

    def call(self, name: str, start: int) -> tuple:
        arguments: list[tuple] = []
        keywords: list[tuple[str, tuple]] = []
        while not self.accept(")"):
            token = self.peek()
            following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if token and token[0] == "name" and following and following[1] == "=":
                self.index += 2
                keywords.append((token[1], self.nested(self.expression)))
            else:
                arguments.append(self.nested(self.expression))
            if not self.accept(","):
                self.expect(")")
                break
        return ("call", start, self.tokens[self.index - 1][3], name, arguments, keywords)


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    return _Parser(text).parse()


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate one expression with the given names. Raises ExprError."""
    return exact(_Evaluator(text, scope).value(_parse(text)))


class _Evaluator:
    def __init__(self, text: str, scope: Mapping[str, Any]) -> None:
        self.text, self.scope = text, scope

    def source(self, node: tuple) -> str:
        return self.text[node[1]:node[2]]

    def bounded(self, value: Any) -> Any:
        if abs(value) > MAX_MAGNITUDE:
            raise ExprError(f"a value exceeds {MAX_MAGNITUDE:.0e} in magnitude")
        return value

    def number(self, node: tuple) -> Any:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "denominator"):
            raise ExprError(f"'{shorten(self.source(node))}' is {value!r}, not a number")
        return value

    def value(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "constant":
            value = node[3]
            return self.bounded(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if kind == "name":
            return self.name(node[3])
        if kind == "binary":
            return self.binary(node)
        if kind == "unary":
            value = self.number(node[4])
            return -value if node[3] == "-" else value
        if kind == "not":
            return not self.value(node[3])
        if kind in ("and", "or"):
            result: Any = None
            for item in node[3]:
                result = self.value(item)
                if bool(result) != (kind == "and"):
                    return result
            return result
        if kind == "compare":
            left = self.value(node[3])
            for op, right_node in node[4]:
                right = self.value(right_node)
                try:
                    if not _COMPARE[op](left, right):
                        return False
                except TypeError:
                    raise ExprError(f"cannot compare {left!r} with {right!r}") from None
                left = right
            return True
        if kind == "if":
            return self.value(node[4]) if self.value(node[3]) else self.value(node[5])
        return self.call(node)

    def name(self, name: str) -> Any:
        if name in self.scope:
            return self.scope[name]
        hint = did_you_mean(name, self.scope) or (
            "names available here: " + ", ".join(sorted(self.scope)) if self.scope
            else "define it under 'vars:' or as a block argument")
        raise ExprError(f"unknown name '{name}'", hint=hint)

    def binary(self, node: tuple) -> Any:
        # a long chain (1 + 2 + ... + n) is a left-leaning tree: walk it with a loop, not recursion
        chain = []
        while node[0] == "binary" and node[3] != "**":
            chain.append(node)
            node = node[4]
        if not chain:
            return self.apply(node, self.number(node[4]), self.number(node[5]))
        value = self.number(node)
        for link in reversed(chain):
            value = self.apply(link, value, self.number(link[5]))
        return value

    def apply(self, node: tuple, left: Any, right: Any) -> Any:
        op = node[3]
        try:
            if op == "/":
                from fractions import Fraction

                return self.bounded(exact(Fraction(left) / Fraction(right)))
            if op == "**":
                if not isinstance(right, int) or abs(right) > MAX_POWER_EXPONENT:
                    raise ExprError(f"exponent {right} is not a whole number up to {MAX_POWER_EXPONENT}")
                if left == 0 and right < 0:
                    raise ExprError("0 cannot be raised to a negative power")
                from fractions import Fraction

                return self.bounded(exact(Fraction(left) ** right))
            return self.bounded(_ARITHMETIC[op](left, right))
        except ZeroDivisionError:
            raise ExprError(f"division by zero in '{shorten(self.source(node))}'") from None

    def call(self, node: tuple) -> Any:
        name = node[3]
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function '{name}'",
                            hint=did_you_mean(name, FUNCTIONS) or "functions: " + ", ".join(FUNCTIONS))
        arguments = [self.number(argument) for argument in node[4]]
        keywords = {key: self.number(value) for key, value in node[5]}
        try:
            return self.bounded(exact(FUNCTIONS[name](*arguments, **keywords)))
        except (TypeError, ValueError, ZeroDivisionError) as err:
            raise ExprError(f"{shorten(self.source(node))}: {err}") from None
