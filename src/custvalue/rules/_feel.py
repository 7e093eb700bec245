"""S-FEEL (simple FEEL) tokenizer, parser and scalar semantics (the tree: :mod:`custvalue.rules.ast`).

The parser is hand written (tokenizer + recursive descent).  It never calls
``eval``/``exec`` and never looks anything up on Python objects: names are
plain strings resolved against mappings supplied by the caller.

Numbers are exact :class:`decimal.Decimal` values.  Values at run time are
``Decimal`` (or ``int``/``float``, compared exactly), ``str``, ``bool`` or
``None`` (FEEL ``null``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeAlias, cast

import attrs
import numpy as np

from .._errors import CustvalueError
from ._temporal import (
    YearsMonthsDuration,
    add_months,
    months_between,
    parse_date,
    parse_date_time,
    parse_duration,
    parse_time,
)
from .ast import (
    LITERAL_TYPES,
    And,
    Between,
    BinOp,
    BoolLit,
    Call,
    Compare,
    CompareTest,
    EqualTest,
    Expr,
    ExprTest,
    If,
    In,
    IntervalTest,
    ListLit,
    Name,
    Neg,
    Not,
    NullLit,
    NumberLit,
    Or,
    Path,
    Placeholder,
    SimpleTest,
    StringLit,
    UnaryTests,
)

__all__ = [
    "BUILTIN_FUNCTIONS",
    "FEEL_CONTEXT",
    "LIST_FUNCTIONS",
    "CategoryError",
    "FeelSyntaxError",
    "Function",
    "Value",
    "arithmetic",
    "call_builtin",
    "compare_values",
    "evaluate_expression",
    "expr_functions",
    "expr_names",
    "feel_kind",
    "has_placeholder",
    "is_literal",
    "lookup",
    "match_unary_tests",
    "negate",
    "normalize_value",
    "parse_expression",
    "parse_unary_tests",
    "property_value",
    "rank_tests",
    "simple_test_truth",
    "substring_bounds",
    "test_truth",
    "tests_names",
]

#: A FEEL runtime value: number, string, boolean, date, date and time, days and time
#: duration (timedelta), years and months duration, or null (None).
Value: TypeAlias = (
    Decimal
    | str
    | bool
    | dt.date
    | dt.datetime
    | dt.time
    | dt.timedelta
    | YearsMonthsDuration
    | list[Any]
    | None
)

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
#: Characters that start FEEL forms custvalue does not support, and the error they give.
_UNSUPPORTED_CHARS: Final = {
    "{": "contexts ({key: value}) are not supported",
    "@": 'temporal literals (@"...") are not supported; use date(...), time(...), '
    "date and time(...) or duration(...)",
}
#: Words that only occur in FEEL forms custvalue does not support, and the error they give.
_UNSUPPORTED_WORDS: Final = {
    "satisfies": "quantified expressions (some/every ... satisfies ...) are not supported",
    "return": "for expressions (for ... in ... return ...) are not supported",
}


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


_PUNCT: Final = (
    "..",
    "**",
    "<=",
    ">=",
    "!=",
    "<",
    ">",
    "=",
    "(",
    ")",
    "[",
    "]",
    ",",
    "+",
    "-",
    "*",
    "/",
    ".",
    "?",
    ":",
)


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
            if j + 1 < n and text[j] in "eE" and (text[j + 1].isdigit() or text[j + 1] in "+-"):
                raise FeelSyntaxError("exponent notation (1e5) is not supported; write the digits", text, i)
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
            raise FeelSyntaxError(_UNSUPPORTED_CHARS.get(c, f"unexpected character {c!r}"), text, i)
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
        #: words that end a name here (``then`` inside an if's condition, ``else`` in its branch)
        self.stops: frozenset[str] = frozenset()

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
        if t.kind == _NAME and t.text in _UNSUPPORTED_WORDS:
            return FeelSyntaxError(_UNSUPPORTED_WORDS[t.text], self.text, t.pos)
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
        if self.is_op("["):
            raise FeelSyntaxError(
                "filters and list indexing (L[...]) are not supported", self.text, self.tok.pos
            )
        if self.tok.kind != _EOF:
            raise self.error("unexpected trailing text")

    def name(self) -> Name:
        """A name, which may have several words (``Monthly Salary``), as DMN FEEL allows.

        Consecutive name parts that are not keywords form one name, joined by
        single spaces; a keyword (``and``, ``or``, ...) ends it.
        """
        parts = [self.advance().text]
        while self.name_part():
            if parts[-1] == "instance" and self.tok.text == "of":
                raise FeelSyntaxError("'instance of' is not supported", self.text, self.toks[self.i - 1].pos)
            parts.append(self.advance().text)
        # "some v in L satisfies v > 1" would otherwise read as a name up to ">"
        ends = {"some": "satisfies", "every": "satisfies", "for": "return"}.get(parts[0])
        if ends is not None and "in" in parts and ends in parts:
            raise FeelSyntaxError(_UNSUPPORTED_WORDS[ends], self.text, self.toks[self.i - len(parts)].pos)
        text = " ".join(parts)
        # a qualified name: applicant.age (one dotted key)
        while self.is_op(".") and self.peek().kind == _NAME and self.peek().text not in _KEYWORDS:
            self.advance()
            seg = [self.advance().text]
            while self.name_part():
                seg.append(self.advance().text)
            text += "." + " ".join(seg)
        return Name(text)

    def name_part(self) -> bool:
        """Whether the next token continues a name: a non-keyword word, or digits (``case 1``).

        DMN 1.5 (grammar rules 27-30) lets every name part after the first
        start with a digit, so ``Extra days case 1`` and ``Flight 234 check``
        are names.  Only plain digit runs join (``1.5`` after a name is not a
        name part).
        """
        t = self.tok
        if t.kind == _NAME:
            if t.text == "in" and _starts_in_tests(self.peek()):
                return False
            return t.text not in _KEYWORDS and t.text not in self.stops
        return t.kind == _NUM and t.text.isdigit()

    def keyword_function(self) -> str | None:
        """A built-in function whose name contains a keyword (``date and time``), if one starts here."""
        for words in _KEYWORD_FUNCTIONS:
            if all(self.peek(k).kind == _NAME and self.peek(k).text == w for k, w in enumerate(words)) and (
                self.peek(len(words)).kind == _OP and self.peek(len(words)).text == "("
            ):
                for _ in words:
                    self.advance()
                return " ".join(words)
        return None

    def call(self, function: str, start: _Tok) -> Call:
        """The arguments of a function call; the name is parsed, ``(`` is next."""
        if function == "function":
            raise FeelSyntaxError("function definitions are not supported", self.text, start.pos)
        self.expect_op("(")
        args: list[Expr] = []
        if not self.is_op(")"):
            while True:
                if self.tok.kind == _NAME and self.peek().kind == _OP and self.peek().text == ":":
                    raise self.error("named arguments are not supported; pass arguments by position")
                if self.is_op("["):
                    args.append(self.list_literal())
                else:
                    args.append(self.expression())
                if not self.is_op(","):
                    break
                self.advance()
        self.expect_op(")")
        made = Call(function, args)
        _check_call(made, self.text, start.pos)
        return made

    def stopping(self, words: frozenset[str], parse: Callable[[], Expr]) -> Expr:
        """Parse with ``words`` ending names (``if a then``: ``then`` is not part of ``a``)."""
        saved = self.stops
        self.stops = saved | words
        try:
            return parse()
        finally:
            self.stops = saved

    def if_expression(self) -> Expr:
        """``if c then a else b`` (``if`` is next)."""
        self.advance()
        self.enter()
        cond = self.stopping(frozenset({"then"}), self.expression)
        if not self.is_kw("then"):
            raise self.error("expected 'then'")
        self.advance()
        then = self.stopping(frozenset({"else"}), self.expression)
        if not self.is_kw("else"):
            raise self.error("expected 'else'")
        self.advance()
        otherwise = self.expression()
        self.leave()
        return self.node(If(cond, then, otherwise), cond, then, otherwise)

    def in_tests(self) -> UnaryTests:
        """The positive unary tests after ``in``: ``(1, 2)``, ``[1..5]``, ``< 3``, ``[1, 2]``, ``"a"``."""
        if self.is_op("("):
            save = self.i
            try:
                self.advance()
                tests = self.test_list()
                self.expect_op(")")
                return UnaryTests(tests)
            except FeelSyntaxError:
                self.i = save
        if self.is_op("<", "<=", ">", ">=", "=", "!="):
            op = self.advance().text
            return UnaryTests((CompareTest(op, self.endpoint()),))
        if self.is_op("[", "]", "("):
            save = self.i
            try:
                return UnaryTests((self.interval(),))
            except FeelSyntaxError:
                self.i = save
        self.enter()
        e = self.additive()
        self.leave()
        return UnaryTests((EqualTest(e),))

    def list_literal(self) -> ListLit:
        self.expect_op("[")
        items: list[Expr] = []
        if not self.is_op("]"):
            items.append(self.expression())
            if self.is_op(".."):
                raise FeelSyntaxError(
                    "a range ([a..b]) is only supported as a unary test or after 'in'",
                    self.text,
                    self.tok.pos,
                )
            while self.is_op(","):
                self.advance()
                items.append(self.expression())
        self.expect_op("]")
        return ListLit(items)

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
            self.advance()
            low = self.additive()
            if not self.is_kw("and"):
                raise self.error("expected 'and' after the lower bound of 'between'")
            self.advance()
            high = self.additive()
            return self.node(Between(left, low, high), left, low, high)
        if self.is_kw("in"):
            self.advance()
            tests = self.in_tests()
            if tests.tests and any(_has_placeholder_test(t) for t in tests.tests):
                raise self.error("'?' is not allowed after 'in'")
            return self.node(In(left, tests), left)
        return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.is_op("+", "-"):
            op = self.advance().text
            right = self.multiplicative()
            left = self.node(BinOp(op, left, right), left, right)
        return left

    def multiplicative(self) -> Expr:
        left = self.power()
        while self.is_op("*", "/"):
            op = self.advance().text
            right = self.power()
            left = self.node(BinOp(op, left, right), left, right)
        return left

    def power(self) -> Expr:
        left = self.unary()
        while self.is_op("**"):
            self.advance()
            right = self.unary()
            left = self.node(BinOp("**", left, right), left, right)
        return left

    def postfix(self) -> Expr:
        """A primary followed by property accesses: ``date(x).year``, ``?.month``."""
        e = self.primary()
        while self.is_op(".") and self.peek().kind == _NAME and self.peek().text not in _KEYWORDS:
            self.advance()
            parts = [self.advance().text]
            while self.name_part():
                parts.append(self.advance().text)
            e = self.node(Path(e, " ".join(parts)), e)
        return e

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
        return self.postfix()

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
            if t.text == "if":
                return self.if_expression()
            kwf = self.keyword_function()
            if kwf is not None:
                return self.call(kwf, t)
            if t.text in _KEYWORDS:
                raise self.error("expected an expression")
            name = self.name()
            if self.is_op("("):
                if "." in name.name:
                    raise self.error("expected an operator after a qualified name", t)
                return self.call(name.name, t)
            return name
        if self.is_op("?"):
            self.advance()
            return Placeholder()
        if self.is_op("["):
            self.enter()
            lst = self.list_literal()
            self.leave()
            return lst
        if self.is_op("("):
            self.advance()
            saved = self.stops
            self.stops = frozenset()
            inner = self.expression()
            self.stops = saved
            self.expect_op(")")
            return inner
        raise self.error("expected an expression")

    # unary tests
    def endpoint(self) -> Expr:
        """An endpoint: a value expression (literal, name, call, arithmetic), not a comparison."""
        t = self.tok
        if t.kind == _EOF or (t.kind == _OP and t.text not in ("-", "(", "?")):
            raise self.error("expected a literal or a name")
        self.enter()
        e = self.additive()
        self.leave()
        return e

    def simple_test(self) -> SimpleTest:
        if self.is_op("<", "<=", ">", ">=", "=", "!="):
            op = self.advance().text
            return CompareTest(op, self.endpoint())
        if self.is_op("]"):
            return self.interval()
        if self.is_op("(", "["):
            # "(a..b)" and "[1..5]" are intervals; "(? > 1) and (? < 5)" is an expression
            # and "[1, 2, 3]" a list (the input must be one of its items)
            save = self.i
            try:
                return self.interval()
            except FeelSyntaxError as first:
                self.i = save
                try:
                    return self.expression_test()
                except FeelSyntaxError:
                    raise first from None
        return self.expression_test()

    def interval(self) -> IntervalTest:
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

    def expression_test(self) -> SimpleTest:
        start = self.tok
        self.enter()
        e = self.expression()
        self.leave()
        if _has_placeholder(e):
            return ExprTest(e)
        if isinstance(e, Compare | And | Or | Not):
            raise FeelSyntaxError(
                "a boolean expression in a unary test must use '?' for the input value", self.text, start.pos
            )
        return EqualTest(e)

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

#: Built-in functions whose names contain a keyword (parsed as one function name).
_KEYWORD_FUNCTIONS: Final = (("date", "and", "time"), ("years", "and", "months", "duration"))


def _starts_in_tests(tok: _Tok) -> bool:
    """Whether ``in`` before ``tok`` is the operator (else a word of a name: ``Days in Month``)."""
    if tok.kind in (_NUM, _STR):
        return True
    if tok.kind == _OP:
        return tok.text in ("(", "[", "]", "<", "<=", ">", ">=", "=", "!=", "-")
    return tok.kind == _NAME and tok.text in ("null", "true", "false")


def _has_placeholder_test(test: SimpleTest) -> bool:
    if isinstance(test, ExprTest):
        return True
    if isinstance(test, IntervalTest):
        return _has_placeholder(test.low) or _has_placeholder(test.high)
    return _has_placeholder(test.endpoint)


def _has_placeholder(expr: Expr) -> bool:
    if isinstance(expr, Placeholder):
        return True
    if isinstance(expr, If):
        return any(_has_placeholder(e) for e in (expr.condition, expr.then, expr.otherwise))
    if isinstance(expr, Between):
        return any(_has_placeholder(e) for e in (expr.value, expr.low, expr.high))
    if isinstance(expr, In):
        return _has_placeholder(expr.value) or any(_has_placeholder_test(t) for t in expr.tests.tests)
    if isinstance(expr, Neg | Not):
        return _has_placeholder(expr.operand)
    if isinstance(expr, Path):
        return _has_placeholder(expr.base)
    if isinstance(expr, BinOp | Compare | And | Or):
        return _has_placeholder(expr.left) or _has_placeholder(expr.right)
    if isinstance(expr, Call):
        return any(_has_placeholder(a) for a in expr.args)
    if isinstance(expr, ListLit):
        return any(_has_placeholder(a) for a in expr.items)
    return False


def _check_call(call: Call, text: str, pos: int) -> None:
    """Arity of built-in calls, and constant date/duration literals, checked while parsing."""
    spec = _ARITY.get(call.function)
    if spec is None:
        return  # a user function (business knowledge model), checked where it is bound
    lo, hi = spec
    n = len(call.args)
    if n < lo or (hi is not None and n > hi):
        want = str(lo) if lo == hi else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise FeelSyntaxError(
            f"{call.function}() takes {want} argument{'s' if want != '1' else ''}, got {n}", text, pos
        )
    for k, a in enumerate(call.args):
        takes_list = call.function in _VARIADIC or (call.function in ("count", "list contains") and k == 0)
        if isinstance(a, ListLit) and not takes_list:
            raise FeelSyntaxError(f"{call.function}() does not take a list", text, pos)
    if call.function in _VARIADIC and n > 1 and any(isinstance(a, ListLit) for a in call.args):
        raise FeelSyntaxError(f"{call.function}() takes one list or several values, not both", text, pos)
    if n == 1 and isinstance(call.args[0], StringLit):
        literal = call.args[0].value
        parser: Callable[[str], object] | None = {
            "date": parse_date,
            "date and time": parse_date_time,
            "time": parse_time,
            "duration": parse_duration,
        }.get(call.function)
        if parser is not None and call.function in ("time", "date and time") and "@" in literal:
            raise FeelSyntaxError(
                f"named time zones are not supported ({literal!r}); use a UTC offset such as +01:00",
                text,
                pos,
            )
        if parser is not None and parser(literal) is None:
            raise FeelSyntaxError(f"invalid {call.function} literal {literal!r}", text, pos)


def feel_kind(v: object) -> str:
    """The FEEL type of a value: ``number``, ``string``, ``boolean``, ``date``, ``date and time``,
    ``days and time duration``, ``years and months duration``, ``null`` (or ``other``).

    Examples
    --------
    >>> import datetime as dt
    >>> feel_kind(Decimal(1)), feel_kind(dt.date(2026, 1, 1)), feel_kind(dt.timedelta(1))
    ('number', 'date', 'days and time duration')
    """
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, Decimal | int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dt.datetime):
        return "date and time"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, dt.time):
        return "time"
    if isinstance(v, dt.timedelta):
        return "days and time duration"
    if isinstance(v, YearsMonthsDuration):
        return "years and months duration"
    if isinstance(v, list):
        return "list"
    return "other"


_kind = feel_kind
_ORDERED: Final = frozenset(
    {
        "number",
        "string",
        "date",
        "date and time",
        "time",
        "days and time duration",
        "years and months duration",
    }
)


def normalize_value(v: object) -> Value:
    """Turn an input value into a FEEL value (ints and floats become Decimal).

    Float NaN and numpy ``NaT`` become null; numpy ``datetime64`` becomes a
    date (unit ``D``) or a datetime, ``timedelta64`` a timedelta (microsecond
    resolution).  Other types raise :class:`TypeError`.
    """
    if v is None or isinstance(v, bool | str | Decimal):
        if isinstance(v, Decimal) and v.is_nan():
            return None
        return v
    if isinstance(v, dt.date | dt.time | dt.timedelta | YearsMonthsDuration):
        return v
    if isinstance(v, list | tuple):
        return [x if isinstance(x, Mapping) else normalize_value(x) for x in v]
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if v != v:
            return None
        return Decimal(v)
    if isinstance(v, np.datetime64):
        if np.isnat(v):
            return None
        if np.datetime_data(v.dtype)[0] in ("Y", "M", "W", "D"):
            return v.astype("datetime64[D]").item()  # type: ignore[no-any-return]
        return v.astype("datetime64[us]").item()  # type: ignore[no-any-return]
    if isinstance(v, np.timedelta64):
        if np.isnat(v):
            return None
        return v.astype("timedelta64[us]").item()  # type: ignore[no-any-return]
    # numpy scalars
    item = getattr(v, "item", None)
    if item is not None and type(v).__module__ == "numpy":
        return normalize_value(item())
    raise TypeError(f"unsupported FEEL value of type {type(v).__name__}")


def _comparable(a: object, b: object) -> bool:
    if (isinstance(a, dt.datetime) and isinstance(b, dt.datetime)) or (
        isinstance(a, dt.time) and isinstance(b, dt.time)
    ):
        return (a.tzinfo is None) == (b.tzinfo is None)
    return True


def _as_date_time(d: dt.date, like: dt.datetime) -> dt.datetime:
    """A date as the date-time at its midnight (DMN 1.5 §10.3.2.3.5): UTC midnight when
    compared with a date-time that has an offset, local (naive) midnight otherwise."""
    return dt.datetime(d.year, d.month, d.day, tzinfo=None if like.tzinfo is None else dt.UTC)


def compare_values(op: str, a: object, b: object) -> bool | None:
    """FEEL comparison with three-valued result.

    ``=``/``!=`` with a null operand are defined (``null = null`` is true);
    ordering with null, comparing different types (a date with a date-time,
    a days-and-time with a years-and-months duration) or ordering booleans
    give ``None`` (null).

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
    if {ka, kb} == {"date", "date and time"}:
        # a date compared with a date-time is the date-time of its midnight
        if ka == "date":
            a, ka = _as_date_time(cast(dt.date, a), cast(dt.datetime, b)), kb
        else:
            b, kb = _as_date_time(cast(dt.date, b), cast(dt.datetime, a)), ka
    if op in ("=", "!="):
        if ka == "null" or kb == "null":
            eq: bool | None = ka == kb
        elif ka != kb or not _comparable(a, b):
            return None
        elif ka == "list":
            eq = _list_equal(cast(list[Any], a), cast(list[Any], b))
        else:
            eq = a == b
        if eq is None:
            return None
        return eq if op == "=" else not eq
    if ka != kb or ka not in _ORDERED or not _comparable(a, b):
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


def _list_equal(a: list[Any], b: list[Any]) -> bool | None:
    """FEEL list equality: same length and every item equal (null if an item comparison is)."""
    if len(a) != len(b):
        return False
    acc: bool | None = True
    for x, y in zip(a, b, strict=True):
        if isinstance(x, Mapping) or isinstance(y, Mapping):
            r: bool | None = dict(x) == dict(y) if isinstance(x, Mapping) and isinstance(y, Mapping) else None
        else:
            r = compare_values("=", x, y)
        acc = _and3(acc, r)
        if acc is False:
            return False
    return acc


Resolver = Callable[[str], Value]
#: A user function (a business knowledge model): positional FEEL values to a FEEL value.
Function: TypeAlias = Callable[..., Value]


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


# arithmetic ------------------------------------------------------------------------------

_MICRO: Final = dt.timedelta(microseconds=1)


def _micros(td: dt.timedelta) -> int:
    return td // _MICRO


def _scale_duration(d: dt.timedelta | YearsMonthsDuration, n: Decimal, divide: bool) -> Value:
    if divide and n == 0:
        return None
    base = Decimal(d.months) if isinstance(d, YearsMonthsDuration) else Decimal(_micros(d))
    x = FEEL_CONTEXT.divide(base, n) if divide else FEEL_CONTEXT.multiply(base, n)
    k = int(x.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
    if isinstance(d, YearsMonthsDuration):
        return YearsMonthsDuration(k)
    return dt.timedelta(microseconds=k)


def _shift(d: dt.date, delta: dt.timedelta | YearsMonthsDuration, sign: int) -> Value:
    if isinstance(delta, YearsMonthsDuration):
        return add_months(d, sign * delta.months)
    if isinstance(d, dt.datetime):
        return d + delta if sign > 0 else d - delta
    moved = dt.datetime(d.year, d.month, d.day) + (delta if sign > 0 else -delta)
    return moved.date()


def _shift_time(t: dt.time, delta: dt.timedelta, sign: int) -> Value:
    """A time of day moved by a days and time duration, around the clock (mod 24 hours)."""
    micros = (t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000 + t.microsecond
    micros = (micros + sign * _micros(delta)) % 86_400_000_000
    secs, us = divmod(micros, 1_000_000)
    return dt.time(secs // 3600, secs // 60 % 60, secs % 60, us, tzinfo=t.tzinfo)


def arithmetic(op: str, a: Value, b: Value) -> Value:
    """FEEL ``+ - * / **`` on two values (DMN 1.5 §10.3.2.3); null when undefined.

    Numbers are decimals rounded to 34 significant digits (half even);
    division by zero, null operands and mismatched types give null.  Strings
    concatenate with ``+``.  Dates and date-times move by durations (a days and
    time duration added to a date gives the date of midnight plus the
    duration; years and months clamp the day to the month's end), their
    differences are days and time durations, durations of one kind add,
    subtract and scale by numbers, and divide into numbers.

    Examples
    --------
    >>> arithmetic("/", Decimal(1), Decimal(3))
    Decimal('0.3333333333333333333333333333333333')
    >>> arithmetic("-", dt.date(2026, 3, 1), dt.date(2026, 1, 1))
    datetime.timedelta(days=59)
    >>> arithmetic("+", dt.date(2026, 1, 31), YearsMonthsDuration(1))
    datetime.date(2026, 2, 28)
    """
    ka, kb = _kind(a), _kind(b)
    if ka == "null" or kb == "null":
        return None
    try:
        if ka == kb == "number":
            x, y = Decimal(a), Decimal(b)  # type: ignore[arg-type]
            if op == "+":
                return FEEL_CONTEXT.add(x, y)
            if op == "-":
                return FEEL_CONTEXT.subtract(x, y)
            if op == "*":
                return FEEL_CONTEXT.multiply(x, y)
            if op == "/":
                return None if y == 0 else FEEL_CONTEXT.divide(x, y)
            if op == "**":
                return FEEL_CONTEXT.power(x, y)
            raise ValueError(f"unknown operator {op!r}")
        if ka == kb == "string":
            return cast(str, a) + cast(str, b) if op == "+" else None
        dur = ("days and time duration", "years and months duration")
        if ka in ("date", "date and time") and kb in dur and op in "+-":
            return _shift(a, b, 1 if op == "+" else -1)  # type: ignore[arg-type]
        if kb in ("date", "date and time") and ka in dur and op == "+":
            return _shift(b, a, 1)  # type: ignore[arg-type]
        if ka == "time" and kb == "days and time duration" and op in "+-":
            return _shift_time(cast(dt.time, a), cast(dt.timedelta, b), 1 if op == "+" else -1)
        if kb == "time" and ka == "days and time duration" and op == "+":
            return _shift_time(cast(dt.time, b), cast(dt.timedelta, a), 1)
        if ka == kb == "time" and op == "-":
            if not _comparable(a, b):
                return None
            day = dt.date(2000, 1, 1)
            return dt.datetime.combine(day, cast(dt.time, a)) - dt.datetime.combine(day, cast(dt.time, b))
        if ka == kb == "date" and op == "-":
            return cast(dt.date, a) - cast(dt.date, b)
        if ka == kb == "date and time" and op == "-":
            return cast(dt.datetime, a) - cast(dt.datetime, b) if _comparable(a, b) else None
        if ka == kb and ka in dur:
            x_any, y_any = cast(Any, a), cast(Any, b)
            if op == "+":
                return cast(Value, x_any + y_any)
            if op == "-":
                return cast(Value, x_any - y_any)
            if op == "/":
                if isinstance(a, YearsMonthsDuration) and isinstance(b, YearsMonthsDuration):
                    return (
                        None if b.months == 0 else FEEL_CONTEXT.divide(Decimal(a.months), Decimal(b.months))
                    )
                assert isinstance(a, dt.timedelta) and isinstance(b, dt.timedelta)
                mb = _micros(b)
                return None if mb == 0 else FEEL_CONTEXT.divide(Decimal(_micros(a)), Decimal(mb))
            return None
        if ka in dur and kb == "number" and op in "*/":
            return _scale_duration(a, Decimal(b), op == "/")  # type: ignore[arg-type]
        if kb in dur and ka == "number" and op == "*":
            return _scale_duration(b, Decimal(a), False)  # type: ignore[arg-type]
    except (decimal.DecimalException, OverflowError, ValueError):
        return None
    return None


def negate(v: Value) -> Value:
    """FEEL unary minus: numbers and durations; null otherwise."""
    if isinstance(v, Decimal):
        return FEEL_CONTEXT.minus(v)
    if isinstance(v, dt.timedelta):
        try:
            return -v
        except OverflowError:
            return None
    if isinstance(v, YearsMonthsDuration):
        return -v
    return None


# built-in functions ----------------------------------------------------------------------


def _int_arg(v: Value) -> int | None:
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        return int(v)
    return None


def _f_upper(s: Value) -> Value:
    return s.upper() if isinstance(s, str) else None


def _f_lower(s: Value) -> Value:
    return s.lower() if isinstance(s, str) else None


def _f_contains(s: Value, sub: Value) -> Value:
    return sub in s if isinstance(s, str) and isinstance(sub, str) else None


def _f_starts(s: Value, sub: Value) -> Value:
    return s.startswith(sub) if isinstance(s, str) and isinstance(sub, str) else None


def _f_ends(s: Value, sub: Value) -> Value:
    return s.endswith(sub) if isinstance(s, str) and isinstance(sub, str) else None


def substring_bounds(n: int, start: int, length: int | None) -> tuple[int, int]:
    """0-based ``[lo, hi)`` of ``substring(s, start, length)`` on a string of ``n`` characters.

    ``start`` is 1-based, negative counts from the end (-1 is the last
    character); the characters taken are those whose positions fall in
    ``[start, start + length)`` (XPath ``fn:substring``), so a window hanging
    off either end is cut.

    >>> substring_bounds(6, 3, None), substring_bounds(6, -2, 1), substring_bounds(3, -5, 3)
    ((2, 6), (4, 5), (0, 1))
    """
    i0 = start - 1 if start > 0 else n + start
    j = n if length is None else i0 + length
    lo, hi = max(i0, 0), min(j, n)
    return (lo, hi) if hi > lo else (0, 0)


def _f_substring(s: Value, start: Value, length: Value = None, *rest: Value) -> Value:
    st = _int_arg(start)
    if not isinstance(s, str) or st is None or st == 0:
        return None
    ln: int | None = None
    if length is not None:
        ln = _int_arg(length)
        if ln is None or ln < 0:
            return None
    lo, hi = substring_bounds(len(s), st, ln)
    return s[lo:hi]


def _f_length(s: Value) -> Value:
    return Decimal(len(s)) if isinstance(s, str) else None


def _f_abs(n: Value) -> Value:
    if isinstance(n, Decimal):
        return n.copy_abs()
    if isinstance(n, dt.timedelta | YearsMonthsDuration):
        zero: Any = dt.timedelta(0) if isinstance(n, dt.timedelta) else YearsMonthsDuration(0)
        return n if n >= zero else negate(n)
    return None


def _rounder(mode: str) -> Callable[..., Value]:
    def f(n: Value, scale: Value = Decimal(0), *rest: Value) -> Value:
        sc = _int_arg(scale)
        if not isinstance(n, Decimal) or sc is None or not n.is_finite():
            return None
        try:
            return n.quantize(Decimal(1).scaleb(-sc), rounding=mode, context=FEEL_CONTEXT)
        except decimal.DecimalException:
            return None

    return f


_f_floor = _rounder(decimal.ROUND_FLOOR)
_f_ceiling = _rounder(decimal.ROUND_CEILING)
_f_decimal = _rounder(decimal.ROUND_HALF_EVEN)


def _items(args: Sequence[object]) -> list[Value] | None:
    if len(args) == 1 and isinstance(args[0], list):
        return list(args[0])
    if any(isinstance(a, list) for a in args):
        return None
    return list(args)  # type: ignore[arg-type]


def _extreme(args: Sequence[object], pick: Callable[..., Value]) -> Value:
    items = _items(args)
    if not items or any(v is None for v in items):
        return None
    kinds = {_kind(v) for v in items}
    if len(kinds) != 1 or not kinds <= _ORDERED:
        return None
    if isinstance(items[0], dt.datetime) and len({v.tzinfo is None for v in items}) > 1:  # type: ignore[union-attr]
        return None
    return pick(items)


def _f_sum(args: Sequence[object]) -> Value:
    items = _items(args)
    if not items or not all(isinstance(v, Decimal) for v in items):
        return None
    total = Decimal(0)
    for v in items:
        total = FEEL_CONTEXT.add(total, v)  # type: ignore[arg-type]
    return total


def _f_mean(args: Sequence[object]) -> Value:
    items = _items(args)
    total = _f_sum(args)
    if items is None or not isinstance(total, Decimal):
        return None
    return FEEL_CONTEXT.divide(total, Decimal(len(items)))


def _f_count(lst: object) -> Value:
    if lst is None:
        return None
    return Decimal(len(lst)) if isinstance(lst, list) else Decimal(1)


def _f_list_contains(lst: object, item: object) -> Value:
    if lst is None:
        return None
    items = lst if isinstance(lst, list) else [lst]
    return any(compare_values("=", x, item) is True for x in items)


def _f_date(*args: Value) -> Value:
    if len(args) == 3:
        y, m, d = (_int_arg(a) for a in args)
        if y is None or m is None or d is None:
            return None
        try:
            return dt.date(y, m, d)
        except ValueError:
            return None
    (x,) = args
    if isinstance(x, str):
        return parse_date(x)
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return None


def _f_date_time(x: Value) -> Value:
    if isinstance(x, str):
        return parse_date_time(x)
    if isinstance(x, dt.datetime):
        return x
    if isinstance(x, dt.date):
        return dt.datetime(x.year, x.month, x.day)
    return None


def _f_time(*args: Value) -> Value:
    if len(args) == 3:
        h, m, sec = (_int_arg(a) for a in args)
        if h is None or m is None or sec is None:
            return None
        try:
            return dt.time(h, m, sec)
        except ValueError:
            return None
    if len(args) != 1:
        return None
    (x,) = args
    if isinstance(x, str):
        return parse_time(x)
    if isinstance(x, dt.datetime):
        return x.timetz()
    if isinstance(x, dt.time):
        return x
    return None


def _f_duration(x: Value) -> Value:
    return parse_duration(x) if isinstance(x, str) else None


def _f_ym_duration(a: Value, b: Value) -> Value:
    if not isinstance(a, dt.date) or not isinstance(b, dt.date):
        return None
    return YearsMonthsDuration(months_between(a, b))


#: name -> (fewest, most arguments; None = any number)
_ARITY: Final[dict[str, tuple[int, int | None]]] = {
    "upper case": (1, 1),
    "lower case": (1, 1),
    "contains": (2, 2),
    "starts with": (2, 2),
    "ends with": (2, 2),
    "substring": (2, 3),
    "string length": (1, 1),
    "abs": (1, 1),
    "floor": (1, 2),
    "ceiling": (1, 2),
    "decimal": (2, 2),
    "min": (1, None),
    "max": (1, None),
    "sum": (1, None),
    "mean": (1, None),
    "count": (1, 1),
    "list contains": (2, 2),
    "date": (1, 3),
    "date and time": (1, 1),
    "time": (1, 3),
    "duration": (1, 1),
    "years and months duration": (2, 2),
}
#: Built-in functions taking a list (or several values).
LIST_FUNCTIONS: Final = frozenset({"min", "max", "sum", "mean", "count", "list contains"})
#: Built-in functions taking one list or several values (``max([a, b])`` or ``max(a, b)``).
_VARIADIC: Final = frozenset({"min", "max", "sum", "mean"})
#: The built-in functions (DMN 1.5 §10.3.4), by FEEL name.
BUILTIN_FUNCTIONS: Final = frozenset(_ARITY)

_SCALAR_BUILTINS: Final[dict[str, Callable[..., Value]]] = {
    "upper case": _f_upper,
    "lower case": _f_lower,
    "contains": _f_contains,
    "starts with": _f_starts,
    "ends with": _f_ends,
    "string length": _f_length,
    "abs": _f_abs,
    "floor": _f_floor,
    "ceiling": _f_ceiling,
    "decimal": _f_decimal,
    "date": _f_date,
    "date and time": _f_date_time,
    "time": _f_time,
    "duration": _f_duration,
    "years and months duration": _f_ym_duration,
}


def call_builtin(name: str, args: Sequence[object]) -> Value:
    """Apply the built-in function ``name`` to evaluated arguments (lists for list functions).

    Examples
    --------
    >>> call_builtin("substring", ["foobar", Decimal(3), Decimal(3)])
    'oba'
    >>> call_builtin("max", [[Decimal(1), Decimal(5), Decimal(3)]])
    Decimal('5')
    """
    if name == "min":
        return _extreme(args, min)
    if name == "max":
        return _extreme(args, max)
    if name == "sum":
        return _f_sum(args)
    if name == "mean":
        return _f_mean(args)
    if name == "count":
        return _f_count(args[0]) if len(args) == 1 else None
    if name == "list contains":
        return _f_list_contains(*args) if len(args) == 2 else None
    lo, hi = _ARITY[name]
    if len(args) < lo or (hi is not None and len(args) > hi) or any(isinstance(a, list) for a in args):
        return None
    if name == "substring":
        if len(args) == 3 and args[2] is None:
            return None
        return _f_substring(*args)  # type: ignore[arg-type]
    if name in ("floor", "ceiling") and len(args) == 2 and args[1] is None:
        return None
    return _SCALAR_BUILTINS[name](*args)


# lookup ------------------------------------------------------------------------------------

_DATE_PROPS: Final = ("year", "month", "day", "weekday")
_TIME_PROPS: Final = ("hour", "minute", "second")


def property_value(v: object, prop: str) -> Value:
    """``value.prop`` for contexts (mappings) and the properties of dates and durations."""
    if isinstance(v, Mapping):
        return normalize_value(v.get(prop))
    if isinstance(v, dt.date) and prop in _DATE_PROPS:
        return Decimal(v.isoweekday() if prop == "weekday" else getattr(v, prop))
    if isinstance(v, dt.datetime | dt.time) and prop in _TIME_PROPS:
        return Decimal(getattr(v, prop))
    if isinstance(v, dt.datetime | dt.time) and prop == "time offset":
        offset = v.utcoffset()
        return None if offset is None else offset
    if isinstance(v, YearsMonthsDuration) and prop in ("years", "months"):
        sign = -1 if v.months < 0 else 1
        y, m = divmod(abs(v.months), 12)
        return Decimal(sign * (y if prop == "years" else m))
    if isinstance(v, dt.timedelta) and prop in ("days", "hours", "minutes", "seconds"):
        mu = _micros(v)
        sign = -1 if mu < 0 else 1
        secs = abs(mu) // 1_000_000
        part = {
            "days": secs // 86400,
            "hours": secs // 3600 % 24,
            "minutes": secs // 60 % 60,
            "seconds": secs % 60,
        }[prop]
        return Decimal(sign * part)
    return None


def lookup(get: Callable[[str], object], name: str) -> Value:
    """Resolve a (possibly qualified) name through ``get``.

    ``get(name)`` is tried first (a flattened key ``"applicant.age"``); then
    the longest prefix ``get`` knows, walking the rest through nested
    mappings (``{"applicant": {"age": 30}}``) and the properties of dates and
    durations (``d.year``).  A missing entry inside a context is null; a
    name whose first part is unknown raises :class:`KeyError`.

    Examples
    --------
    >>> env = {"applicant": {"age": 30, "name": "Li"}}
    >>> lookup(env.__getitem__, "applicant.age"), lookup(env.__getitem__, "applicant.city")
    (Decimal('30'), None)
    """
    try:
        v = get(name)
    except KeyError:
        if "." not in name:
            raise
    else:
        return v if isinstance(v, Mapping) else normalize_value(v)  # type: ignore[return-value]
    parts = name.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            cur: object = get(".".join(parts[:k]))
        except KeyError:
            continue
        for p in parts[k:]:
            cur = property_value(cur, p)
            if cur is None:
                return None
        return normalize_value(cur)
    raise KeyError(name)


def evaluate_expression(
    expr: Expr,
    env: Mapping[str, object] | Callable[[str], object],
    functions: Mapping[str, Function] | None = None,
) -> Value:
    """Evaluate an expression; unknown names (and functions) raise :class:`KeyError`.

    Parameters
    ----------
    expr
        The expression.
    env
        Values by name (nested mappings for qualified names, or flattened
        dotted keys), or a function resolving a name.  ``?`` is the key
        ``"?"``.
    functions
        User functions by name (business knowledge models): called with the
        evaluated positional arguments; they take precedence over built-ins.

    Notes
    -----
    Arithmetic with null or on mismatched types gives null; division by zero
    gives null (see :func:`arithmetic`).

    Examples
    --------
    >>> evaluate_expression(parse_expression("x * 100"), {"x": Decimal("1.25")})
    Decimal('125.00')
    >>> evaluate_expression(parse_expression("x + 1"), {"x": None}) is None
    True
    >>> evaluate_expression(parse_expression("applicant.age + 1"), {"applicant": {"age": 41}})
    Decimal('42')
    >>> evaluate_expression(parse_expression("bonus(x, 2)"), {"x": Decimal(3)},
    ...                     {"bonus": lambda a, b: a * b})
    Decimal('6')
    """
    get: Callable[[str], object] = env if callable(env) else env.__getitem__
    return _eval(expr, get, functions or {})


def _eval(expr: Expr, get: Callable[[str], object], functions: Mapping[str, Function]) -> Value:
    if isinstance(expr, NumberLit):
        return expr.value
    if isinstance(expr, StringLit):
        return expr.value
    if isinstance(expr, BoolLit):
        return expr.value
    if isinstance(expr, NullLit):
        return None
    if isinstance(expr, Name):
        return lookup(get, expr.name)
    if isinstance(expr, Placeholder):
        return normalize_value(get("?"))
    if isinstance(expr, Path):
        return property_value(_eval(expr.base, get, functions), expr.name)
    if isinstance(expr, Neg):
        return negate(_eval(expr.operand, get, functions))
    if isinstance(expr, BinOp):
        return arithmetic(expr.op, _eval(expr.left, get, functions), _eval(expr.right, get, functions))
    if isinstance(expr, Compare):
        return compare_values(expr.op, _eval(expr.left, get, functions), _eval(expr.right, get, functions))
    if isinstance(expr, And):
        return _and3(_as_bool(_eval(expr.left, get, functions)), _as_bool(_eval(expr.right, get, functions)))
    if isinstance(expr, Or):
        return _or3(_as_bool(_eval(expr.left, get, functions)), _as_bool(_eval(expr.right, get, functions)))
    if isinstance(expr, Not):
        b3 = _as_bool(_eval(expr.operand, get, functions))
        return None if b3 is None else not b3
    if isinstance(expr, Call):
        args: list[object] = [_eval(a, get, functions) for a in expr.args]
        user = functions.get(expr.function)
        if user is not None:
            out = user(*args)
            # a knowledge model whose table has several outputs returns a context (a mapping)
            return out if isinstance(out, Mapping) else normalize_value(out)
        if expr.function in _ARITY:
            return call_builtin(expr.function, args)
        raise KeyError(f"{expr.function}()")
    if isinstance(expr, ListLit):
        return [_eval(i, get, functions) for i in expr.items]
    if isinstance(expr, If):
        cond = _eval(expr.condition, get, functions)
        return _eval(expr.then if cond is True else expr.otherwise, get, functions)
    if isinstance(expr, Between):
        v = _eval(expr.value, get, functions)
        lo = compare_values(">=", v, _eval(expr.low, get, functions))
        hi = compare_values("<=", v, _eval(expr.high, get, functions))
        return _and3(lo, hi)
    if isinstance(expr, In):
        v = _eval(expr.value, get, functions)
        return test_truth(expr.tests, v, lambda name: normalize_value(get(name)), functions)
    raise TypeError(f"not an expression: {expr!r}")


def _bind(resolve: Resolver, value: Value) -> Resolver:
    def get(name: str) -> Value:
        return value if name == "?" else resolve(name)

    return get


def simple_test_truth(
    test: SimpleTest, value: object, resolve: Resolver, functions: Mapping[str, Function] | None = None
) -> bool | None:
    """Three-valued result of one simple test against ``value`` (``?`` is bound to it)."""
    v = normalize_value(value)
    get = _bind(resolve, v)
    fns = functions or {}
    if isinstance(test, ExprTest):
        r = _eval(test.expr, get, fns)
        return r if isinstance(r, bool) else None
    if isinstance(test, CompareTest):
        return compare_values(test.op, v, _eval(test.endpoint, get, fns))
    if isinstance(test, EqualTest):
        return equal_test_truth(v, _eval(test.endpoint, get, fns))
    low = _eval(test.low, get, fns)
    high = _eval(test.high, get, fns)
    lo = compare_values(">=" if test.low_closed else ">", v, low)
    hi = compare_values("<=" if test.high_closed else "<", v, high)
    return _and3(lo, hi)


def equal_test_truth(value: Value, endpoint: Value) -> bool | None:
    """A unary test that is a bare expression: ``? = e``, or, when ``e`` is a list (and the
    input is not), whether the list contains the input (true or false, never null).

    >>> equal_test_truth(Decimal(2), [Decimal(1), Decimal(2)]), equal_test_truth("a", [Decimal(1)])
    (True, False)
    """
    if isinstance(endpoint, list) and not isinstance(value, list):
        return any(compare_values("=", value, item) is True for item in endpoint)
    return compare_values("=", value, endpoint)


def test_truth(
    tests: UnaryTests, value: object, resolve: Resolver, functions: Mapping[str, Function] | None = None
) -> bool | None:
    """Three-valued result of unary tests: list = or, ``not(...)`` = negation."""
    if not tests.tests:
        return True
    acc: bool | None = False
    for t in tests.tests:
        acc = _or3(acc, simple_test_truth(t, value, resolve, functions))
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
        if isinstance(e, ListLit):
            return ListLit(rank(i) for i in e.items)
        return e

    out: list[SimpleTest] = []
    for t in tests.tests:
        if isinstance(t, ExprTest):
            raise CategoryError(f"the test {t} uses '?', which ordered categories do not support")
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
    """All names referenced by an expression (qualified names whole: ``applicant.age``)."""
    if isinstance(expr, Name):
        return {expr.name}
    if isinstance(expr, Path):
        return expr_names(expr.base)
    if isinstance(expr, Neg | Not):
        return expr_names(expr.operand)
    if isinstance(expr, BinOp | Compare | And | Or):
        return expr_names(expr.left) | expr_names(expr.right)
    if isinstance(expr, Call):
        return set().union(*(expr_names(a) for a in expr.args))
    if isinstance(expr, ListLit):
        return set().union(*(expr_names(a) for a in expr.items))
    if isinstance(expr, If):
        return expr_names(expr.condition) | expr_names(expr.then) | expr_names(expr.otherwise)
    if isinstance(expr, Between):
        return expr_names(expr.value) | expr_names(expr.low) | expr_names(expr.high)
    if isinstance(expr, In):
        return expr_names(expr.value) | tests_names(expr.tests)
    return set()


def expr_functions(expr: Expr) -> set[str]:
    """Names of all functions an expression calls (built-in or user).

    >>> sorted(expr_functions(parse_expression('upper case(x) + bonus(y)')))
    ['bonus', 'upper case']
    """
    if isinstance(expr, Call):
        return {expr.function}.union(*(expr_functions(a) for a in expr.args))
    if isinstance(expr, ListLit):
        return set().union(*(expr_functions(a) for a in expr.items))
    if isinstance(expr, Path):
        return expr_functions(expr.base)
    if isinstance(expr, Neg | Not):
        return expr_functions(expr.operand)
    if isinstance(expr, BinOp | Compare | And | Or):
        return expr_functions(expr.left) | expr_functions(expr.right)
    if isinstance(expr, If):
        return expr_functions(expr.condition) | expr_functions(expr.then) | expr_functions(expr.otherwise)
    if isinstance(expr, Between):
        return expr_functions(expr.value) | expr_functions(expr.low) | expr_functions(expr.high)
    if isinstance(expr, In):
        return expr_functions(expr.value) | tests_functions(expr.tests)
    return set()


def tests_functions(tests: UnaryTests) -> set[str]:
    """Names of all functions the unary tests' endpoints call."""
    out: set[str] = set()
    for t in tests.tests:
        if isinstance(t, IntervalTest):
            out |= expr_functions(t.low) | expr_functions(t.high)
        elif isinstance(t, ExprTest):
            out |= expr_functions(t.expr)
        else:
            out |= expr_functions(t.endpoint)
    return out


def has_placeholder(expr: Expr) -> bool:
    """True if the expression uses ``?``."""
    return _has_placeholder(expr)


def tests_names(tests: UnaryTests) -> set[str]:
    """All names referenced by unary tests endpoints."""
    out: set[str] = set()
    for t in tests.tests:
        if isinstance(t, IntervalTest):
            out |= expr_names(t.low) | expr_names(t.high)
        elif isinstance(t, ExprTest):
            out |= expr_names(t.expr)
        else:
            out |= expr_names(t.endpoint)
    return out
