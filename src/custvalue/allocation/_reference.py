"""Scalar reference implementation of attribution, for tests only.

Plain Python with :class:`fractions.Fraction`, one customer at a time, written
for obviousness rather than speed: the vectorised :func:`attribute` must give
identical results.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

__all__ = ["reference_attribution", "reference_split"]


def reference_split(amount: int, shares: list[tuple[str, int, bool]]) -> dict[str, int]:
    """Largest-remainder split of one amount.

    ``shares`` is ``[(manager_id, bp, is_primary), ...]`` summing to 10000.
    Ties between equal remainders: primary first, then manager id ascending.

    Examples
    --------
    >>> reference_split(1, [("B", 3333, False), ("A", 3333, False), ("P", 3334, True)])
    {'B': 0, 'A': 0, 'P': 1}
    >>> reference_split(2, [("B", 5000, False), ("A", 5000, True)])
    {'B': 1, 'A': 1}
    """
    assert sum(bp for _, bp, _ in shares) == 10000
    quotas = {m: Fraction(amount * bp, 10000) for m, bp, _ in shares}
    floors = {m: q.numerator // q.denominator for m, q in quotas.items()}
    deficit = amount - sum(floors.values())
    assert 0 <= deficit < max(len(shares), 1)
    ranked = sorted(shares, key=lambda s: (-(quotas[s[0]] - floors[s[0]]), not s[2], s[0]))
    out = dict(floors)
    for m, _, _ in ranked[:deficit]:
        out[m] += 1
    return {m: out[m] for m, _, _ in shares}


def reference_attribution(
    customers: Mapping[str, tuple[str, Mapping[str, int], str | None]],
    managers: Mapping[str, str],
    amounts: Mapping[str, int],
) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
    """Attribute ``amounts`` customer by customer.

    Parameters
    ----------
    customers
        ``{customer_id: (branch_id, {manager_id: bp}, primary_or_None)}`` as
        of the date (empty shares = unallocated).
    managers
        ``{manager_id: branch_id}``.
    amounts
        ``{customer_id: fen}``.

    Returns
    -------
    (parts, manager_totals, branch_totals)
        ``{(customer, manager): fen}``, ``{manager: fen}`` for every manager
        and ``{branch: fen}`` for every branch that has a manager or a customer.
    """
    parts: dict[tuple[str, str], int] = {}
    mtot = dict.fromkeys(managers, 0)
    btot = dict.fromkeys(list(managers.values()), 0)
    for c, (branch, shares, primary) in customers.items():
        btot.setdefault(branch, 0)
        amount = amounts.get(c, 0)
        if not shares:
            btot[branch] += amount
            continue
        split = reference_split(amount, [(m, bp, m == primary) for m, bp in shares.items()])
        for m, v in split.items():
            parts[(c, m)] = v
            mtot[m] += v
            btot[managers[m]] += v
    return parts, mtot, btot
