"""Large-transaction rules (大额交易监测) as policy data: the ``[transactions]`` section.

A policy document may carry a list of rules under ``[[transactions.rules]]``;
each is one of four kinds (amounts in the policy's ``amount_unit``):

``single``
    one transaction with ``amount >= threshold``;
``aum_share``
    one transaction with ``amount >= percent`` % of the customer's AUM at the
    transaction's month (needs the portfolio);
``window_sum``
    transactions within ``days`` days summing to ``>= threshold``;
``structuring``
    ``count`` or more transactions within ``days`` days, each in
    ``[threshold - margin, threshold)`` ("just below" the threshold).

``direction`` is ``in``, ``out`` or ``any`` (default ``out``).  "Within N
days" means timestamps less than ``N * 86400`` seconds apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from ._schema import IDENT, PolicyError

__all__ = [
    "RULE_KINDS",
    "TRANSACTION_DIRECTIONS",
    "TransactionRule",
    "parse_transaction_rules",
    "transaction_rules_dict",
]

#: The kinds of large-transaction rules.
RULE_KINDS: Final[tuple[str, ...]] = ("single", "aum_share", "window_sum", "structuring")
#: Which transactions a rule looks at.
TRANSACTION_DIRECTIONS: Final[tuple[str, ...]] = ("in", "out", "any")
_NEEDS: Final[dict[str, tuple[str, ...]]] = {
    "single": ("threshold",),
    "aum_share": ("percent",),
    "window_sum": ("threshold", "days"),
    "structuring": ("threshold", "margin", "count", "days"),
}
_FIELDS: Final = ("id", "kind", "direction", "threshold", "percent", "margin", "count", "days", "description")
#: Amounts below 10**17 policy units with at most 2 decimals; windows up to 10 years.
_MAX_DIGITS: Final = 16
_MAX_DAYS: Final = 3660


@attrs.frozen
class TransactionRule:
    """One large-transaction rule of a policy (see the module notes for the kinds).

    Examples
    --------
    >>> r = TransactionRule("big", "single", threshold=Decimal("50000"))
    >>> r.direction, r.threshold
    ('out', Decimal('50000'))
    >>> TransactionRule("x", "window_sum", threshold=Decimal(1))
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: transactions.rules[x]: kind window_sum needs days (at transactions.rules[x])
    """

    id: str
    kind: str
    threshold: Decimal | None = None
    percent: Decimal | None = None
    margin: Decimal | None = None
    count: int | None = None
    days: int | None = None
    direction: str = "out"
    description: str | None = None

    def __attrs_post_init__(self) -> None:
        path = f"transactions.rules[{self.id}]"
        if not isinstance(self.id, str) or not IDENT.match(self.id):
            raise PolicyError(f"{path}: rule id {self.id!r} is not an identifier", path=path)
        if self.kind not in RULE_KINDS:
            raise PolicyError(
                f"{path}: unknown kind {self.kind!r}; known: {', '.join(RULE_KINDS)}", path=path
            )
        if self.direction not in TRANSACTION_DIRECTIONS:
            raise PolicyError(
                f"{path}: direction {self.direction!r}; expected one of {', '.join(TRANSACTION_DIRECTIONS)}",
                path=path,
            )
        for name in ("threshold", "percent", "margin", "count", "days"):
            value = getattr(self, name)
            if name in _NEEDS[self.kind]:
                if value is None:
                    raise PolicyError(f"{path}: kind {self.kind} needs {name}", path=path)
            elif value is not None:
                raise PolicyError(f"{path}: kind {self.kind} takes no {name}", path=path)
        for name in ("threshold", "percent", "margin"):
            value = getattr(self, name)
            if value is not None:
                _check_amount(value, f"{path}.{name}")
        if self.days is not None and not 1 <= self.days <= _MAX_DAYS:
            raise PolicyError(f"{path}.days: must be in 1..{_MAX_DAYS}, got {self.days}", path=path)
        if self.count is not None and self.count < 1:
            raise PolicyError(f"{path}.count: must be >= 1, got {self.count}", path=path)
        if self.margin is not None and self.threshold is not None and self.margin > self.threshold:
            raise PolicyError(f"{path}.margin: must not exceed the threshold", path=path)


def _check_amount(value: object, path: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PolicyError(f"{path}: expected a finite decimal amount, got {value!r}", path=path)
    if value <= 0:
        raise PolicyError(f"{path}: must be positive, got {value}", path=path)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if value.adjusted() > _MAX_DIGITS or exponent < -2:
        raise PolicyError(
            f"{path}: {value} is out of range (below 10**{_MAX_DIGITS + 1}, at most 2 decimals)", path=path
        )


def _amount(v: Any, path: str) -> Decimal:
    if isinstance(v, bool) or isinstance(v, float):
        raise PolicyError(f"{path}: {v!r} is not an exact amount; write a decimal string", path=path)
    if isinstance(v, int | Decimal):
        return Decimal(v)
    if isinstance(v, str):
        try:
            return Decimal(v.strip())
        except ArithmeticError:
            raise PolicyError(f"{path}: {v!r} is not a decimal amount", path=path) from None
    raise PolicyError(f"{path}: expected an amount, got {type(v).__name__}", path=path)


def _whole(v: Any, path: str) -> int:
    if isinstance(v, Decimal) and v == v.to_integral_value():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise PolicyError(f"{path}: expected a whole number, got {v!r}", path=path)
    return v


def parse_transaction_rules(raw: Any, source: str | None = None) -> tuple[TransactionRule, ...]:
    """The rules of a ``transactions`` section (``{"rules": [...]}``); errors name the path.

    Examples
    --------
    >>> rules = parse_transaction_rules({"rules": [
    ...     {"id": "big_out", "kind": "single", "threshold": 50000}]})
    >>> rules[0].threshold
    Decimal('50000')
    >>> parse_transaction_rules({"rules": [{"id": "b", "kind": "single", "threshold": 0.5}]})
    Traceback (most recent call last):
    ...
    custvalue.policy.PolicyError: transactions.rules[0].threshold: 0.5 is not an exact amount; ...
    """
    if not isinstance(raw, Mapping):
        raise PolicyError("transactions: expected a table", path="transactions", file=source)
    for key in raw:
        if key != "rules":
            raise PolicyError(
                f"transactions.{key}: unknown key; allowed: rules", path=f"transactions.{key}", file=source
            )
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list):
        raise PolicyError("transactions.rules: expected a list", path="transactions.rules", file=source)
    rules: list[TransactionRule] = []
    seen: set[str] = set()
    for i, rd in enumerate(rules_raw):
        p = f"transactions.rules[{i}]"
        try:
            rules.append(_rule(rd, p))
        except PolicyError as exc:
            raise PolicyError(exc.message, path=exc.path, file=source) from None
        if rules[-1].id in seen:
            raise PolicyError(f"{p}.id: duplicate rule id {rules[-1].id!r}", path=f"{p}.id", file=source)
        seen.add(rules[-1].id)
    return tuple(rules)


def _rule(rd: Any, p: str) -> TransactionRule:
    if not isinstance(rd, Mapping):
        raise PolicyError(f"{p}: expected a table", path=p)
    for k in rd:
        if k not in _FIELDS:
            raise PolicyError(f"{p}.{k}: unknown key; allowed: {', '.join(_FIELDS)}", path=f"{p}.{k}")
    for k in ("id", "kind"):
        if k not in rd:
            raise PolicyError(f"{p}.{k}: missing", path=f"{p}.{k}")
        if not isinstance(rd[k], str):
            raise PolicyError(f"{p}.{k}: expected a string, got {rd[k]!r}", path=f"{p}.{k}")
    amounts: dict[str, Decimal | None] = {
        k: _amount(rd[k], f"{p}.{k}") if k in rd else None for k in ("threshold", "percent", "margin")
    }
    wholes = {k: _whole(rd[k], f"{p}.{k}") if k in rd else None for k in ("count", "days")}
    for k, v in amounts.items():
        if v is not None:
            _check_amount(v, f"{p}.{k}")
    direction = rd.get("direction", "out")
    description = rd.get("description")
    if not isinstance(direction, str) or (description is not None and not isinstance(description, str)):
        raise PolicyError(f"{p}: direction and description must be strings", path=p)
    return TransactionRule(
        id=rd["id"],
        kind=rd["kind"],
        threshold=amounts["threshold"],
        percent=amounts["percent"],
        margin=amounts["margin"],
        count=wholes["count"],
        days=wholes["days"],
        direction=direction,
        description=description,
    )


def transaction_rules_dict(rules: Sequence[TransactionRule]) -> dict[str, Any]:
    """The ``transactions`` section of a policy document for ``rules``.

    >>> transaction_rules_dict([TransactionRule("big", "single", threshold=Decimal("50000"))])
    {'rules': [{'id': 'big', 'kind': 'single', 'direction': 'out', 'threshold': Decimal('50000')}]}
    """
    out = []
    for r in rules:
        d: dict[str, Any] = {"id": r.id, "kind": r.kind, "direction": r.direction}
        for k in ("threshold", "percent", "margin", "count", "days", "description"):
            v = getattr(r, k)
            if v is not None:
                d[k] = v
        out.append(d)
    return {"rules": out}
