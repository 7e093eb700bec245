"""S-FEEL (simple FEEL) tokenizer, parser and scalar semantics (the tree: :mod:`custvalue.rules.ast`).

The parser is hand written (tokenizer + recursive descent).  It never calls
``eval``/``exec`` and never looks anything up on Python objects: names are
plain strings resolved against mappings supplied by the caller.

Numbers are exact :class:`decimal.Decimal` values.  Values at run time are
``Decimal`` (or ``int``/``float``, compared exactly), ``str``, ``bool`` or
``None`` (FEEL ``null``).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final, TypeAlias

import attrs

from .._errors import CustvalueError
from .ast import (
    LITERAL_TYPES,
    And,
    BinOp,
    BoolLit,
    Compare,
    CompareTest,
    EqualTest,
    Expr,
    IntervalTest,
    Name,
    Neg,
    Not,
    NullLit,
    NumberLit,
    Or,
    SimpleTest,
    StringLit,
    UnaryTests,
)

__all__ = [
    "FEEL_CONTEXT",
    "CategoryError",
    "FeelSyntaxError",
    "Value",
    "compare_values",
    "evaluate_expression",
    "expr_names",
    "is_literal",
    "match_unary_tests",
    "normalize_value",
    "parse_expression",
    "parse_unary_tests",
    "rank_tests",
    "simple_test_truth",
    "test_truth",
    "tests_names",
]

#: A FEEL runtime value.
Value: TypeAlias = Decimal | str | bool | None

#: Decimal context used for FEEL arithmetic (FEEL numbers are decimal128-like).
FEEL_CONTEXT: Final = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)

_MAX_DEPTH: Final = 64
#: Deepest operator tree an expression may build (``a + b + ... `` has one level per ``+``);
#: deeper trees would exhaust the interpreter's stack when evaluated or printed.
_MAX_TREE: Final = 128
#: Significant digits of a FEEL number (FEEL numbers are decimal128).
_MAX_DIGITS: Final = 34
_KEYWORDS: Final = frozenset({"true", "false", "null", "and", "or", "not", "between"})
_CMP_OPS: Final = ("<=", ">=", "!=", "<", ">", "=")


class CategoryError(CustvalueError, ValueError):
    """A test names a category that an ordered column does not have."""


class FeelSyntaxError(CustvalueError, ValueError):
    """A syntax error in an S-FEEL text, with its 1-based line and column.

    Examples
    --------
    >>> try:
    ...     parse_unary_tests("[1500000 5000000)")
    ... except FeelSyntaxError as err:
    ...     print(err.line, err.column)
    ...     print(err)
    1 10
    expected '..', found '5000000' at line 1, column 10: [1500000 5000000)
                                                                  ^
    """

    def __init__(self, message: str, text: str, pos: int) -> None:
        pos = max(0, min(pos, len(text)))
        line = text.count("\n", 0, pos) + 1
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        if end < 0:
            end = len(text)
        self.reason = message
        self.text = text
        self.pos = pos
        self.line = line
        self.column = pos - start + 1
        # a window of the line around the position, so that huge texts give short messages
        lo, hi = max(start, pos - 40), min(end, pos + 40)
        src = ("..." if lo > start else "") + text[lo:hi] + ("..." if hi < end else "")
        head = f"{message} at line {line}, column {self.column}: "
        caret = " " * (len(head) + pos - lo + (3 if lo > start else 0)) + "^"
        super().__init__(f"{head}{src}\n{caret}")


# --------------------------------------------------------------------------- tokenizer

_NUM, _STR, _NAME, _OP, _EOF = "number", "string", "name", "op", "eof"


@attrs.frozen
class _Tok:
    kind: str
    text: str
    pos: int
    value: object = None


_PUNCT: Final = ("..", "<=", ">=", "!=", "<", ">", "=", "(", ")", "[", "]", ",", "+", "-", "*", "/")


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n\u00a0":
            i += 1
            continue
        if c.isascii() and (
            c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isascii() and text[i + 1].isdigit())
        ):
            j = i
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            if j < n and text[j] == "." and j + 1 < n and text[j + 1].isascii() and text[j + 1].isdigit():
                j += 1
                while j < n and text[j].isascii() and text[j].isdigit():
                    j += 1
            if len(text[i:j].replace(".", "").lstrip("0")) > _MAX_DIGITS:
                raise FeelSyntaxError(
                    f"number has more than {_MAX_DIGITS} significant digits (FEEL numbers are decimal128)",
                    text,
                    i,
                )
            toks.append(_Tok(_NUM, text[i:j], i, Decimal(text[i:j])))
            i = j
            continue
        if c == '"':
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    raise FeelSyntaxError("unterminated string", text, i)
                d = text[j]
                if d == "\\":
                    if j + 1 >= n or text[j + 1] not in '"\\':
                        raise FeelSyntaxError("unsupported escape in string", text, j)
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if d == '"':
                    break
                buf.append(d)
                j += 1
            toks.append(_Tok(_STR, text[i : j + 1], i, "".join(buf)))
            i = j + 1
            continue
        if c.isalpha() or c == "_":
            # a name part: letters (any script), digits, "_", and inside a name "'" and "?"
            # ("Customer's Age", "Credit Score?"); whitespace-separated parts join in the parser
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_'?"):
                j += 1
            toks.append(_Tok(_NAME, text[i:j], i))
            i = j
            continue
        for p in _PUNCT:
            if text.startswith(p, i):
                toks.append(_Tok(_OP, p, i))
                i += len(p)
                break
        else:
            raise FeelSyntaxError(f"unexpected character {c!r}", text, i)
    toks.append(_Tok(_EOF, "", n))
    return toks


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"FEEL text must be str, not {type(text).__name__}")
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.heights: dict[int, int] = {}

    # helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == _OP and self.tok.text in ops

    def is_kw(self, kw: str) -> bool:
        return self.tok.kind == _NAME and self.tok.text == kw

    def advance(self) -> _Tok:
        t = self.tok
        self.i += 1
        return t

    def error(self, message: str, tok: _Tok | None = None) -> FeelSyntaxError:
        t = tok or self.tok
        found = "end of input" if t.kind == _EOF else repr(t.text)
        return FeelSyntaxError(f"{message}, found {found}", self.text, t.pos)

    def expect_op(self, op: str) -> _Tok:
        if not self.is_op(op):
            raise self.error(f"expected {op!r}")
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise FeelSyntaxError("expression nested too deeply", self.text, self.tok.pos)

    def leave(self) -> None:
        self.depth -= 1

    def node(self, made: Expr, *children: Expr) -> Expr:
        """Record the height of a new operator node; refuse trees too deep to walk safely."""
        h = 1 + max(self.heights.get(id(c), 0) for c in children)
        if h > _MAX_TREE:
            raise FeelSyntaxError(
                f"expression too long: more than {_MAX_TREE} operators deep", self.text, self.tok.pos
            )
        self.heights[id(made)] = h
        return made

    def end(self) -> None:
        if self.tok.kind != _EOF:
            raise self.error("unexpected trailing text")

    def name(self) -> Name:
        """A name, which may have several words (``Monthly Salary``), as DMN FEEL allows.

        Consecutive name parts that are not keywords form one name, joined by
        single spaces; a keyword (``and``, ``or``, ...) ends it.
        """
        parts = [self.advance().text]
        while self.tok.kind == _NAME and self.tok.text not in _KEYWORDS:
            parts.append(self.advance().text)
        return Name(" ".join(parts))

    # expressions
    def expression(self) -> Expr:
        self.enter()
        left = self.conjunction()
        while self.is_kw("or"):
            self.advance()
            right = self.conjunction()
            left = self.node(Or(left, right), left, right)
        self.leave()
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.is_kw("and"):
            self.advance()
            right = self.comparison()
            left = self.node(And(left, right), left, right)
        return left

    def comparison(self) -> Expr:
        left = self.additive()
        if self.is_op(*_CMP_OPS):
            op = self.advance().text
            right = self.additive()
            if self.is_op(*_CMP_OPS):
                raise self.error("comparisons cannot be chained")
            return self.node(Compare(op, left, right), left, right)
        if self.is_kw("between"):
            raise self.error("'between' is not supported")
        return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.is_op("+", "-"):
            op = self.advance().text
            right = self.multiplicative()
            left = self.node(BinOp(op, left, right), left, right)
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.is_op("*", "/"):
            op = self.advance().text
            right = self.unary()
            left = self.node(BinOp(op, left, right), left, right)
        return left

    def unary(self) -> Expr:
        if self.is_op("-"):
            self.advance()
            if self.tok.kind == _NUM:
                lit = self.primary()
                assert isinstance(lit, NumberLit)
                return NumberLit(-lit.value)
            self.enter()
            operand = self.unary()
            self.leave()
            return self.node(Neg(operand), operand)
        return self.primary()

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == _NUM:
            self.advance()
            assert isinstance(t.value, Decimal)
            return NumberLit(t.value)
        if t.kind == _STR:
            self.advance()
            assert isinstance(t.value, str)
            return StringLit(t.value)
        if t.kind == _NAME:
            if t.text == "true":
                self.advance()
                return BoolLit(True)
            if t.text == "false":
                self.advance()
                return BoolLit(False)
            if t.text == "null":
                self.advance()
                return NullLit()
            if t.text == "not":
                self.advance()
                self.expect_op("(")
                inner = self.expression()
                self.expect_op(")")
                return Not(inner)
            if t.text in _KEYWORDS:
                raise self.error("expected an expression")
            name = self.name()
            if self.is_op("("):
                raise self.error("function calls are not supported")
            return name
        if self.is_op("("):
            self.advance()
            inner = self.expression()
            self.expect_op(")")
            return inner
        raise self.error("expected an expression")

    # unary tests
    def endpoint(self) -> Expr:
        t = self.tok
        if self.is_op("-") and self.peek().kind == _NUM:
            self.advance()
            v = self.advance().value
            assert isinstance(v, Decimal)
            return NumberLit(-v)
        if t.kind == _NUM:
            self.advance()
            assert isinstance(t.value, Decimal)
            return NumberLit(t.value)
        if t.kind == _STR:
            self.advance()
            assert isinstance(t.value, str)
            return StringLit(t.value)
        if t.kind == _NAME:
            if t.text in ("true", "false"):
                self.advance()
                return BoolLit(t.text == "true")
            if t.text == "null":
                self.advance()
                return NullLit()
            if t.text in _KEYWORDS:
                raise self.error("expected a literal or a name")
            return self.name()
        raise self.error("expected a literal or a name")

    def simple_test(self) -> SimpleTest:
        if self.is_op("<", "<=", ">", ">=", "=", "!="):
            op = self.advance().text
            return CompareTest(op, self.endpoint())
        if self.is_op("[", "(", "]"):
            open_tok = self.advance()
            low_closed = open_tok.text == "["
            low = self.endpoint()
            if not self.is_op(".."):
                raise self.error("expected '..'")
            self.advance()
            high = self.endpoint()
            if not self.is_op("]", ")", "["):
                raise self.error("expected ']', ')' or '['")
            close = self.advance()
            return IntervalTest(low, high, low_closed, close.text == "]")
        return EqualTest(self.endpoint())

    def test_list(self) -> tuple[SimpleTest, ...]:
        tests = [self.simple_test()]
        while self.is_op(","):
            self.advance()
            tests.append(self.simple_test())
        return tuple(tests)

    def unary_tests(self) -> UnaryTests:
        if self.is_op("-") and self.peek().kind == _EOF:
            self.advance()
            return UnaryTests(())
        if self.is_kw("not") and self.peek().kind == _OP and self.peek().text == "(":
            self.advance()
            self.advance()
            tests = self.test_list()
            self.expect_op(")")
            self.end()
            return UnaryTests(tests, negated=True)
        tests = self.test_list()
        self.end()
        return UnaryTests(tests)


def parse_unary_tests(text: str) -> UnaryTests:
    """Parse a decision-table input entry (S-FEEL unary tests).

    Parameters
    ----------
    text
        The entry, e.g. ``">= 500000"``, ``"[1500000..5000000)"``,
        ``'"diamond", "platinum"'``, ``"not(1, 2)"`` or ``"-"``.

    Returns
    -------
    UnaryTests

    Raises
    ------
    FeelSyntaxError
        With the 1-based line and column of the problem.

    Examples
    --------
    >>> parse_unary_tests("[1500000..5000000)")
    UnaryTests(tests=(IntervalTest(low=NumberLit(value=Decimal('1500000')), \
high=NumberLit(value=Decimal('5000000')), low_closed=True, high_closed=False),), negated=False)
    >>> str(parse_unary_tests(">=18, <  -2.5"))
    '>= 18, < -2.5'
    """
    p = _Parser(text)
    return p.unary_tests()


def parse_expression(text: str) -> Expr:
    """Parse a simple S-FEEL expression.

    Supports names, number/string/boolean/null literals, ``+ - * /``, unary
    minus, comparisons, ``and``/``or``, ``not(...)`` and parentheses.

    Examples
    --------
    >>> e = parse_expression("(a + 2) * 3 >= b and not(c)")
    >>> str(e)
    '(a + 2) * 3 >= b and not(c)'
    >>> evaluate_expression(parse_expression("1.5 * 2 - 1"), {})
    Decimal('2.0')
    """
    p = _Parser(text)
    e = p.expression()
    p.end()
    return e


# --------------------------------------------------------------------------- semantics


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (Decimal, int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "other"


def normalize_value(v: object) -> Value:
    """Turn an input value into a FEEL value (ints and floats become Decimal).

    Float NaN becomes null.  Other types raise :class:`TypeError`.
    """
    if v is None or isinstance(v, (bool, str, Decimal)):
        if isinstance(v, Decimal) and v.is_nan():
            return None
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if v != v:
            return None
        return Decimal(v)
    # numpy scalars
    item = getattr(v, "item", None)
    if item is not None and type(v).__module__ == "numpy":
        return normalize_value(item())
    raise TypeError(f"unsupported FEEL value of type {type(v).__name__}")


def compare_values(op: str, a: object, b: object) -> bool | None:
    """FEEL comparison with three-valued result.

    ``=``/``!=`` with a null operand are defined (``null = null`` is true);
    ordering with null, comparing different types or ordering booleans give
    ``None`` (null).

    Examples
    --------
    >>> compare_values("<", Decimal(1), Decimal(2))
    True
    >>> compare_values("=", None, None), compare_values("<", None, Decimal(1))
    (True, None)
    >>> compare_values("=", "1", Decimal(1)) is None
    True
    """
    ka, kb = _kind(a), _kind(b)
    if op in ("=", "!="):
        if ka == "null" or kb == "null":
            eq = ka == kb
        elif ka != kb:
            return None
        else:
            eq = a == b
        return eq if op == "=" else not eq
    if ka != kb or ka not in ("number", "string"):
        return None
    if op == "<":
        return a < b  # type: ignore[operator, no-any-return]
    if op == "<=":
        return a <= b  # type: ignore[operator, no-any-return]
    if op == ">":
        return a > b  # type: ignore[operator, no-any-return]
    if op == ">=":
        return a >= b  # type: ignore[operator, no-any-return]
    raise ValueError(f"unknown comparison {op!r}")


Resolver = Callable[[str], Value]


def _and3(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or3(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _as_bool(v: Value) -> bool | None:
    return v if isinstance(v, bool) else None


def evaluate_expression(expr: Expr, env: Mapping[str, object] | Resolver) -> Value:
    """Evaluate an expression; unknown names raise :class:`KeyError`.

    Arithmetic with null or on mismatched types gives null; division by zero
    gives null.

    Examples
    --------
    >>> evaluate_expression(parse_expression("x * 100"), {"x": Decimal("1.25")})
    Decimal('125.00')
    >>> evaluate_expression(parse_expression("x + 1"), {"x": None}) is None
    True
    """
    if isinstance(expr, NumberLit):
        return expr.value
    if isinstance(expr, StringLit):
        return expr.value
    if isinstance(expr, BoolLit):
        return expr.value
    if isinstance(expr, NullLit):
        return None
    if isinstance(expr, Name):
        if callable(env):
            return env(expr.name)
        if expr.name not in env:
            raise KeyError(expr.name)
        return normalize_value(env[expr.name])
    if isinstance(expr, Neg):
        v = evaluate_expression(expr.operand, env)
        return FEEL_CONTEXT.minus(v) if isinstance(v, Decimal) else None
    if isinstance(expr, BinOp):
        a = evaluate_expression(expr.left, env)
        b = evaluate_expression(expr.right, env)
        if _kind(a) != "number" or _kind(b) != "number":
            if expr.op == "+" and isinstance(a, str) and isinstance(b, str):
                return a + b
            return None
        assert isinstance(a, Decimal) and isinstance(b, Decimal)
        if expr.op == "+":
            return FEEL_CONTEXT.add(a, b)
        if expr.op == "-":
            return FEEL_CONTEXT.subtract(a, b)
        if expr.op == "*":
            return FEEL_CONTEXT.multiply(a, b)
        if b == 0:
            return None
        return FEEL_CONTEXT.divide(a, b)
    if isinstance(expr, Compare):
        return compare_values(
            expr.op, evaluate_expression(expr.left, env), evaluate_expression(expr.right, env)
        )
    if isinstance(expr, And):
        return _and3(
            _as_bool(evaluate_expression(expr.left, env)), _as_bool(evaluate_expression(expr.right, env))
        )
    if isinstance(expr, Or):
        return _or3(
            _as_bool(evaluate_expression(expr.left, env)), _as_bool(evaluate_expression(expr.right, env))
        )
    if isinstance(expr, Not):
        b3 = _as_bool(evaluate_expression(expr.operand, env))
        return None if b3 is None else not b3
    raise TypeError(f"not an expression: {expr!r}")


def simple_test_truth(test: SimpleTest, value: object, resolve: Resolver) -> bool | None:
    """Three-valued result of one simple test against ``value``."""
    v = normalize_value(value)
    if isinstance(test, CompareTest):
        return compare_values(test.op, v, evaluate_expression(test.endpoint, resolve))
    if isinstance(test, EqualTest):
        return compare_values("=", v, evaluate_expression(test.endpoint, resolve))
    low = evaluate_expression(test.low, resolve)
    high = evaluate_expression(test.high, resolve)
    lo = compare_values(">=" if test.low_closed else ">", v, low)
    hi = compare_values("<=" if test.high_closed else "<", v, high)
    return _and3(lo, hi)


def test_truth(tests: UnaryTests, value: object, resolve: Resolver) -> bool | None:
    """Three-valued result of unary tests: list = or, ``not(...)`` = negation."""
    if not tests.tests:
        return True
    acc: bool | None = False
    for t in tests.tests:
        acc = _or3(acc, simple_test_truth(t, value, resolve))
        if acc is True:
            break
    if tests.negated:
        return None if acc is None else not acc
    return acc


def match_unary_tests(
    tests: UnaryTests,
    value: object,
    names: Mapping[str, object] | None = None,
    *,
    order: Sequence[str] | None = None,
) -> bool:
    """True if ``value`` satisfies the unary tests (null/unknown is no match).

    With ``order`` (ordered categories, lowest first) strings compare by their
    position in it (see :func:`rank_tests`), not alphabetically.

    Examples
    --------
    >>> t = parse_unary_tests("[1500000..5000000)")
    >>> match_unary_tests(t, 1500000), match_unary_tests(t, 5000000)
    (True, False)
    >>> match_unary_tests(parse_unary_tests("not(<10)"), None)
    False
    >>> match_unary_tests(parse_unary_tests("not(3)"), None)
    True
    >>> levels = ("none", "standard", "gold", "platinum", "diamond")
    >>> match_unary_tests(parse_unary_tests('>= "gold"'), "none"), match_unary_tests(
    ...     parse_unary_tests('>= "gold"'), "none", order=levels)
    (True, False)
    """
    env = names or {}
    if order is not None:
        tests = rank_tests(tests, order)
        if value is not None:
            ranks = {c: i for i, c in enumerate(order)}
            if not isinstance(value, str) or value not in ranks:
                raise CategoryError(
                    f"unknown category {value!r}; the ordered categories are {', '.join(order)}"
                )
            value = Decimal(ranks[value])

    def resolve(name: str) -> Value:
        if name not in env:
            raise KeyError(name)
        return normalize_value(env[name])

    return test_truth(tests, value, resolve) is True


def rank_tests(tests: UnaryTests, order: Sequence[str]) -> UnaryTests:
    """The tests over an ordered category, rewritten over the categories' ranks.

    Each string literal becomes its position in ``order`` (lowest first), so
    ``>= "gold"`` on card levels ``none, standard, gold, ...`` becomes ``>= 2``
    and ordering follows the categories' order, not the alphabet.  Match the
    rewritten tests against a value's rank (``Decimal(order.index(v))``).

    Examples
    --------
    >>> levels = ("none", "standard", "gold", "platinum", "diamond")
    >>> rank_tests(parse_unary_tests('>= "gold"'), levels).to_feel()
    '>= 2'
    >>> rank_tests(parse_unary_tests('"bronze"'), levels)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.rules.CategoryError: unknown category 'bronze'; the ordered categories are none, ...
    """
    ranks = {v: i for i, v in enumerate(order)}

    def rank(e: Expr) -> Expr:
        if isinstance(e, StringLit):
            if e.value not in ranks:
                raise CategoryError(
                    f"unknown category {e.value!r}; the ordered categories are {', '.join(order)}"
                )
            return NumberLit(Decimal(ranks[e.value]))
        return e

    out: list[SimpleTest] = []
    for t in tests.tests:
        if isinstance(t, CompareTest):
            out.append(CompareTest(t.op, rank(t.endpoint)))
        elif isinstance(t, EqualTest):
            out.append(EqualTest(rank(t.endpoint)))
        else:
            out.append(IntervalTest(rank(t.low), rank(t.high), t.low_closed, t.high_closed))
    return UnaryTests(tuple(out), tests.negated)


def is_literal(expr: Expr) -> bool:
    """True for number, string, boolean and null literals."""
    return isinstance(expr, LITERAL_TYPES)


def expr_names(expr: Expr) -> set[str]:
    """All names referenced by an expression."""
    if isinstance(expr, Name):
        return {expr.name}
    if isinstance(expr, Neg | Not):
        return expr_names(expr.operand)
    if isinstance(expr, BinOp | Compare | And | Or):
        return expr_names(expr.left) | expr_names(expr.right)
    return set()


def tests_names(tests: UnaryTests) -> set[str]:
    """All names referenced by unary tests endpoints."""
    out: set[str] = set()
    for t in tests.tests:
        if isinstance(t, IntervalTest):
            out |= expr_names(t.low) | expr_names(t.high)
        else:
            out |= expr_names(t.endpoint)
    return out
