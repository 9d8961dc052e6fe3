"""Home Assistant value templates in their common forms, evaluated without Jinja or eval.

Understood: `value` and `value_json` with member and index access (`value_json.a.b`,
`value_json['a'][0]`); the filters `float`, `int`, `round(n)`, `abs` and `multiply(x)`,
and `float(x)`, `int(x)` as calls; numbers, parentheses, unary minus and `+ - * /`,
with Jinja's precedence (a filter binds tighter than arithmetic). A template outside
this grammar is kept but unsupported: each payload it meets is refused with that reason.

Readings stay honest where Jinja would invent a value: a default argument (`float(0)`)
is ignored, so text that is no number is refused rather than read as 0.

A template says which fields it reads (`fields`), and, when it reads one field as it is
(`value_json.a.b` or `value`, through `float`, `int` and `round` only), which: its
`path`. That is how a discovery config and a device family's own reader find that they
read the same sensor.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from phantom_cauldron.parsing.handling import Path, Reason, Refused
from phantom_cauldron.parsing.jsonpath import lookup
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.parsing.values import as_number, number_from_json

MAX_LENGTH = 500
MAX_DEPTH = 20
"""Nesting (parentheses, unary minus) a template may use."""

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<string>'[^'\\]*'|"[^"\\]*")
      | (?P<op>[-+*/|()\[\].,])
    )""",
    re.VERBOSE | re.ASCII,
)
_EXPRESSION = re.compile(r"\s*\{\{-?(.*?)-?\}\}\s*", re.DOTALL)


Expression = Callable[[StatePayload], object]


def _read_value(state: StatePayload) -> object:
    return state.value


@dataclass(frozen=True)
class ValueTemplate:
    """A compiled `value_template` (None: the payload itself is the number)."""

    source: str | None
    expression: Expression | None = field(repr=False, compare=False)
    fields: frozenset[Path] = field(default=frozenset(), compare=False)
    """The fields the template reads (`()`: the whole payload as text)."""
    path: Path | None = field(default=None, compare=False)
    """The one field the template reads unchanged, if it does."""

    @property
    def supported(self) -> bool:
        """Whether payloads can be read through this template."""
        return self.expression is not None

    def evaluate(self, state: StatePayload) -> float:
        """The number the template makes of a state payload."""
        if self.expression is None:
            raise Refused(Reason.UNSUPPORTED_TEMPLATE)
        try:
            return as_number(self.expression(state))
        except ZeroDivisionError:
            raise Refused(Reason.OUT_OF_RANGE) from None


def compile_template(source: str | None) -> ValueTemplate:
    """The template for `source`, unsupported when it is outside the understood forms."""
    if source is None:
        return ValueTemplate(None, _read_value, frozenset({()}), ())
    match = _EXPRESSION.fullmatch(source) if len(source) <= MAX_LENGTH else None
    if match is None or "{" in match.group(1) or "}" in match.group(1):
        return ValueTemplate(source, None)
    parser = _Parser(match.group(1))
    try:
        expression = parser.parse()
    except _Unsupported:
        return ValueTemplate(source, None)
    return ValueTemplate(source, expression, frozenset(parser.fields), parser.path)


class _Unsupported(Exception):
    """The template is outside the understood forms."""


def _numeric(
    operation: Callable[[float, float], float], left: Expression, right: Expression
) -> Expression:
    return lambda state: operation(number_from_json(left(state)), number_from_json(right(state)))


def _negated(inner: Expression) -> Expression:
    return lambda state: -number_from_json(inner(state))


def _member(steps: tuple[str, ...]) -> Expression:
    return lambda state: lookup(state.value_json, steps)


def _constant(number: float) -> Expression:
    return lambda state: number


def _as_float(inner: Expression) -> Expression:
    return lambda state: as_number(inner(state))


def _as_int(inner: Expression) -> Expression:
    return lambda state: float(math.trunc(as_number(inner(state))))


def _absolute(inner: Expression) -> Expression:
    return lambda state: abs(as_number(inner(state)))


def _rounded(inner: Expression, digits: int) -> Expression:
    return lambda state: round(as_number(inner(state)), digits)


def _multiplied(inner: Expression, factor: float) -> Expression:
    return lambda state: as_number(inner(state)) * factor


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


class _Parser:
    """Recursive descent over the tokens of one `{{ ... }}` expression."""

    def __init__(self, text: str) -> None:
        self._tokens: list[tuple[str, str]] = []
        position, end = 0, len(text.rstrip())
        while position < end:
            match = _TOKEN.match(text, position)
            if match is None:
                raise _Unsupported
            kind = str(match.lastgroup)
            self._tokens.append((kind, match.group(kind)))
            position = match.end()
        self._position = 0
        self._depth = 0
        self.fields: list[Path] = []
        """The fields the expression reads, in order."""
        self._changed = False

    @property
    def path(self) -> Path | None:
        """The one field the parsed expression reads unchanged, if it does."""
        if self._changed or len(self.fields) != 1:
            return None
        return self.fields[0]

    def parse(self) -> Expression:
        expression = self._sum()
        if self._position != len(self._tokens):
            raise _Unsupported
        return expression

    def _peek(self) -> tuple[str, str]:
        if self._position < len(self._tokens):
            return self._tokens[self._position]
        return ("end", "")

    def _take(self, kind: str, text: str | None = None) -> str:
        token_kind, token_text = self._peek()
        if token_kind != kind or (text is not None and token_text != text):
            raise _Unsupported
        self._position += 1
        return token_text

    def _accept(self, text: str) -> bool:
        if self._peek() == ("op", text):
            self._position += 1
            return True
        return False

    def _sum(self) -> Expression:
        expression = self._product()
        while self._peek() in (("op", "+"), ("op", "-")):
            self._changed = True
            operation = _ARITHMETIC[self._take("op")]
            expression = _numeric(operation, expression, self._product())
        return expression

    def _product(self) -> Expression:
        expression = self._unary()
        while self._peek() in (("op", "*"), ("op", "/")):
            self._changed = True
            operation = _ARITHMETIC[self._take("op")]
            expression = _numeric(operation, expression, self._unary())
        return expression

    def _unary(self, with_filters: bool = True) -> Expression:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Unsupported
        if self._accept("-"):
            self._changed = True
            expression = _negated(self._unary(with_filters=False))
        elif self._accept("+"):
            expression = self._unary(with_filters=False)
        else:
            expression = self._primary()
        self._depth -= 1
        while with_filters and self._accept("|"):
            name = self._take("name")
            expression = self._filter(expression, name, self._arguments())
        return expression

    def _primary(self) -> Expression:
        kind, text = self._peek()
        if kind == "number":
            self._position += 1
            self._changed = True
            return _constant(self._finite(text))
        if self._accept("("):
            expression = self._sum()
            self._take("op", ")")
            return expression
        name = self._take("name")
        if name == "value":
            self.fields.append(())
            return _read_value
        if name == "value_json":
            steps = self._steps()
            self.fields.append(steps)
            return _member(steps)
        if name in ("float", "int") and self._accept("("):
            expression = self._sum()
            if self._accept(","):
                self._number_argument()
            self._take("op", ")")
            return self._filter(expression, name, [])
        raise _Unsupported

    def _steps(self) -> tuple[str, ...]:
        steps: list[str] = []
        while True:
            if self._accept("."):
                kind, text = self._peek()
                if not (kind == "name" or (kind == "number" and text.isdigit())):
                    raise _Unsupported
                self._position += 1
                steps.append(text)
            elif self._accept("["):
                kind, text = self._peek()
                if kind == "string":
                    steps.append(text[1:-1])
                elif kind == "number" and text.isdigit():
                    steps.append(text)
                else:
                    raise _Unsupported
                self._position += 1
                self._take("op", "]")
            else:
                return tuple(steps)

    def _arguments(self) -> list[float]:
        arguments: list[float] = []
        if self._accept("(") and not self._accept(")"):
            arguments.append(self._number_argument())
            while self._accept(","):
                arguments.append(self._number_argument())
            self._take("op", ")")
        return arguments

    def _filter(self, inner: Expression, name: str, arguments: list[float]) -> Expression:
        if name == "float" and len(arguments) <= 1:
            return _as_float(inner)
        if name == "int" and len(arguments) <= 1:
            return _as_int(inner)
        if name == "abs" and not arguments:
            self._changed = True
            return _absolute(inner)
        if name == "round" and len(arguments) <= 1:
            digits = arguments[0] if arguments else 0.0
            if not digits.is_integer() or abs(digits) > 15:
                raise _Unsupported
            return _rounded(inner, int(digits))
        if name == "multiply" and len(arguments) == 1:
            self._changed = True
            return _multiplied(inner, arguments[0])
        raise _Unsupported

    def _number_argument(self) -> float:
        sign = -1.0 if self._accept("-") else 1.0
        return sign * self._finite(self._take("number"))

    @staticmethod
    def _finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise _Unsupported
        return number
