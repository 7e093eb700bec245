"""DMN item definitions: type references and allowed values, checked on input.

A type reference is a FEEL built-in type (``number``, ``string``,
``boolean``, ``date``, ``date and time``, ``days and time duration``,
``years and months duration``, ``Any``; the DMN 1.1 spellings ``dateTime``,
``dayTimeDuration``, ``yearMonthDuration``, the prefixed ``feel:number`` and
Camunda 7's ``integer``, ``long`` and ``double`` - read as ``number`` - are
accepted) or the name of an item definition.  An item definition has
either a type reference (optionally with ``allowedValues``: unary tests such
as ``[0..150]`` or ``"A", "B"``) or components (a structure, read through
dotted names ``applicant.age``), and may be a collection.

Null conforms to every type (a missing input is null); a value of another
type, or outside the allowed values, is an :class:`ItemError` naming the
input, the row and the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ._columns import CodedColumn, NullableColumn
from ._compile import compile_table
from ._feel import FeelSyntaxError, feel_kind, match_unary_tests, normalize_value, parse_unary_tests
from ._table import DecisionTable, InputClause, OutputClause, Rule, TableError
from .ast import UnaryTests

__all__ = [
    "BUILTIN_TYPES",
    "ItemDefinition",
    "ItemError",
    "base_type",
    "check_column",
    "check_value",
    "items_by_name",
    "null_mask",
    "resolve_type",
]

#: FEEL type names (DMN 1.5 spelling) and the older spellings read as them.
BUILTIN_TYPES: Final[Mapping[str, str]] = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "date and time": "date and time",
    "dateTime": "date and time",
    "time": "time",
    "days and time duration": "days and time duration",
    "dayTimeDuration": "days and time duration",
    "years and months duration": "years and months duration",
    "yearMonthDuration": "years and months duration",
    "duration": "duration",
    "Any": "Any",
    # Camunda 7 spellings (Java types), read as FEEL numbers
    "integer": "number",
    "long": "number",
    "double": "number",
}


class ItemError(TableError):
    """An input value that does not conform to its type or allowed values.

    Attributes
    ----------
    input : str
        The input (dotted path for a component: ``applicant.age``).
    row : int or None
        The row (vectorised evaluation), or None for one row.
    value : object
        The offending value.
    """

    def __init__(self, message: str, *, input: str, row: int | None, value: object) -> None:
        self.input, self.row, self.value = input, row, value
        where = f"input {input!r}" + ("" if row is None else f", row {row}")
        TableError.__init__(self, f"{where}: {message}")


def _allowed(text: str | None) -> UnaryTests | None:
    return None if text is None else parse_unary_tests(text)


def _components(v: Iterable[ItemDefinition]) -> tuple[ItemDefinition, ...]:
    return tuple(v)


@attrs.frozen
class ItemDefinition:
    """A DMN ``itemDefinition`` (or one ``itemComponent`` of it).

    Parameters
    ----------
    name
        The name (for a component, the component's name).
    type_ref
        A FEEL type or another item definition's name; None for a structure.
    allowed_values
        Unary-tests text constraining the value (``[0..150]``), or None.
    components
        The components of a structure.
    is_collection
        A list of such values.

    Examples
    --------
    >>> age = ItemDefinition("tAge", "number", allowed_values="[0..150]")
    >>> check_value(age, 30, "Age", {}), check_value(age, None, "Age", {})
    (Decimal('30'), None)
    >>> try:
    ...     check_value(age, 200, "Age", {})
    ... except ItemError as err:
    ...     print(err)
    input 'Age': value 200 is not allowed by tAge ([0..150])
    """

    name: str
    type_ref: str | None = None
    allowed_values: str | None = None
    components: tuple[ItemDefinition, ...] = attrs.field(default=(), converter=_components)
    is_collection: bool = False
    id: str | None = attrs.field(default=None, eq=False)
    _tests: UnaryTests | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.components and self.type_ref is not None:
            raise TableError(f"item definition {self.name!r} has both a typeRef and components")
        try:
            object.__setattr__(self, "_tests", _allowed(self.allowed_values))
        except FeelSyntaxError as err:
            raise TableError(f"item definition {self.name!r}: allowed values: {err}") from err

    @property
    def tests(self) -> UnaryTests | None:
        """The parsed allowed values."""
        return self._tests

    def component(self, name: str) -> ItemDefinition:
        """The component called ``name``."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)


def base_type(type_ref: str | None) -> str | None:
    """The FEEL type name of a built-in type reference, or None if it is not one.

    >>> base_type("feel:dateTime"), base_type("tAge")
    ('date and time', None)
    """
    if type_ref is None:
        return None
    key = type_ref.split(":", 1)[1] if type_ref.startswith("feel:") else type_ref
    return BUILTIN_TYPES.get(key)


def _conforms(kind: str, want: str) -> bool:
    if want == "Any" or kind == "null":
        return True
    if want == "duration":
        return kind in ("days and time duration", "years and months duration")
    return kind == want


def _fmt(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def resolve_type(
    type_ref: str | None, items: Mapping[str, ItemDefinition], where: str
) -> ItemDefinition | str | None:
    """A type reference resolved: a FEEL type name, an item definition, or None (no type)."""
    if type_ref is None:
        return None
    b = base_type(type_ref)
    if b is not None:
        return b
    if type_ref in items:
        return items[type_ref]
    raise TableError(f"{where}: unknown typeRef {type_ref!r} (not a FEEL type nor an item definition)")


def check_value(
    item: ItemDefinition | str | None,
    value: object,
    input: str,
    items: Mapping[str, ItemDefinition],
    row: int | None = None,
    _depth: int = 0,
) -> Any:
    """Check one value against a type (an item definition or a FEEL type name); return it normalised.

    Structures are mappings (nested dicts), collections are lists.
    """
    if value is None or item is None:
        return value if value is None or isinstance(value, Mapping | list) else normalize_value(value)
    if _depth > 32:
        raise ItemError("item definitions nest too deeply", input=input, row=row, value=value)
    if isinstance(item, str):
        try:
            v = normalize_value(value)
        except TypeError:
            raise ItemError(
                f"value {value!r} is not a FEEL value", input=input, row=row, value=value
            ) from None
        if not _conforms(feel_kind(v), item):
            raise ItemError(
                f"value {_fmt(v)} is a {feel_kind(v)}, expected {item}", input=input, row=row, value=value
            )
        return v
    if item.is_collection:
        if not isinstance(value, list | tuple):
            raise ItemError(
                f"value {value!r} is not a list ({item.name} is a collection)",
                input=input,
                row=row,
                value=value,
            )
        one = attrs.evolve(item, is_collection=False)
        return [check_value(one, v, f"{input}[{i}]", items, row, _depth + 1) for i, v in enumerate(value)]
    if item.components:
        if not isinstance(value, Mapping):
            raise ItemError(
                f"value {value!r} is not a structure ({item.name} has components)",
                input=input,
                row=row,
                value=value,
            )
        names = {c.name for c in item.components}
        for k in value:
            if k not in names:
                raise ItemError(
                    f"{item.name} has no component {k!r} (components: {', '.join(sorted(names))})",
                    input=input,
                    row=row,
                    value=value,
                )
        return {
            c.name: check_value(c, value.get(c.name), f"{input}.{c.name}", items, row, _depth + 1)
            for c in item.components
            if c.name in value
        }
    target = resolve_type(item.type_ref, items, f"item definition {item.name!r}")
    v = check_value(target, value, input, items, row, _depth + 1)
    tests = item.tests
    if tests is not None and v is not None and not match_unary_tests(tests, v):
        raise ItemError(
            f"value {_fmt(v)} is not allowed by {item.name} ({item.allowed_values})",
            input=input,
            row=row,
            value=v,
        )
    return v


# --------------------------------------------------------------------------- columns


def null_mask(raw: Any) -> npt.NDArray[np.bool_]:
    """True where a column holds null."""
    if isinstance(raw, CodedColumn):
        return np.asarray(raw.codes < 0, dtype=np.bool_)
    if isinstance(raw, NullableColumn):
        return np.asarray(~np.asarray(raw.valid, dtype=np.bool_), dtype=np.bool_)
    if isinstance(raw, np.ma.MaskedArray):
        return np.array(np.ma.getmaskarray(raw), dtype=np.bool_)
    arr = np.asarray(raw)
    if arr.dtype.kind == "f":
        return np.asarray(np.isnan(arr), dtype=np.bool_)
    if arr.dtype.kind in "mM":
        return np.asarray(np.isnat(arr), dtype=np.bool_)
    if arr.dtype.kind == "O":
        return np.asarray(arr == None, dtype=np.bool_)  # noqa: E711 (elementwise on object arrays)
    return np.zeros(len(arr), dtype=bool)


def _dtype_kinds(raw: Any) -> tuple[set[str], npt.NDArray[Any] | None]:
    """The FEEL kinds a column can hold, and for object columns the values (to find a bad row)."""
    if isinstance(raw, CodedColumn):
        return {feel_kind(c) for c in raw.categories}, None
    values = raw.values if isinstance(raw, NullableColumn) else np.ma.getdata(raw)
    arr = np.asarray(values)
    k = arr.dtype.kind
    if k in "iuf":
        return {"number"}, None
    if k == "b":
        return {"boolean"}, None
    if k == "U":
        return {"string"}, None
    if k == "M":
        unit = np.datetime_data(arr.dtype)[0]
        return {"date" if unit in ("Y", "M", "W", "D") else "date and time"}, None
    if k == "m":
        return {"days and time duration"}, None
    if k == "O":
        # a FEEL kind depends on the Python type only: one value per distinct type decides
        one_of_each = {type(v): v for v in arr.tolist()}
        return {feel_kind(v) for v in one_of_each.values()} - {"null"}, arr
    return {"other"}, None


def _cell(raw: Any, row: int) -> object:
    if isinstance(raw, CodedColumn):
        c = int(raw.codes[row])
        return None if c < 0 else raw.categories[c]
    if isinstance(raw, NullableColumn):
        return raw.values[row].item() if bool(raw.valid[row]) else None
    if isinstance(raw, np.ma.MaskedArray):
        return None if bool(np.ma.getmaskarray(raw)[row]) else np.ma.getdata(raw)[row].item()
    v = np.asarray(raw)[row]
    return v.item() if hasattr(v, "item") and type(v).__module__ == "numpy" else v


def check_column(
    item: ItemDefinition | str | None,
    raw: Any,
    input: str,
    items: Mapping[str, ItemDefinition],
    *,
    scale: int = 1,
) -> None:
    """Check a whole column against a type; raise :class:`ItemError` at the first bad row.

    Dtypes are checked once (a float column is a number column); object
    columns are checked value by value; allowed values are one compiled
    pass over the column.  ``scale`` is the column's minor units per table
    unit (100: fen for yuan), so allowed values are in table units.
    """
    if item is None:
        return
    if isinstance(item, ItemDefinition) and (item.components or item.is_collection):
        what = "a structure; pass its components as dotted columns" if item.components else "a collection"
        raise ItemError(f"{item.name} is {what}", input=input, row=None, value=None)
    chain: list[ItemDefinition] = []
    target: ItemDefinition | str | None = item
    while isinstance(target, ItemDefinition):
        if target.components or target.is_collection or len(chain) > 32:
            raise ItemError(f"{target.name} is not a simple type", input=input, row=None, value=None)
        chain.append(target)
        target = resolve_type(target.type_ref, items, f"item definition {target.name!r}")
    if target is not None:
        kinds, per_row = _dtype_kinds(raw)
        bad = {k for k in kinds if not _conforms(k, target)}
        if bad:
            nulls = null_mask(raw)
            if per_row is not None:
                wrong = np.frompyfunc(lambda v: not _conforms(feel_kind(v), target), 1, 1)(per_row)
                wrong = np.asarray(wrong, dtype=bool)
                row = int(np.flatnonzero(wrong & ~nulls)[0])
            else:
                cand = np.flatnonzero(~nulls)
                if isinstance(raw, CodedColumn):
                    bad_codes = [i for i, c in enumerate(raw.categories) if feel_kind(c) in bad]
                    cand = np.flatnonzero(np.isin(raw.codes, bad_codes))
                if not len(cand):
                    return _check_allowed(chain, raw, input, scale)
                row = int(cand[0])
            v = _cell(raw, row)
            raise ItemError(
                f"value {_fmt(v)} is a {feel_kind(normalize_value(v))}, expected {target}",
                input=input,
                row=row,
                value=v,
            )
    _check_allowed(chain, raw, input, scale)


def _check_allowed(chain: Sequence[ItemDefinition], raw: Any, input: str, scale: int) -> None:
    for it in chain:
        if it.tests is None:
            continue
        ok = _allowed_mask(it, raw, scale)
        bad = np.flatnonzero(~ok & ~null_mask(raw))
        if len(bad):
            row = int(bad[0])
            v = _cell(raw, row)
            shown = normalize_value(v)
            if scale != 1 and isinstance(shown, Decimal):
                shown = shown / scale
            raise ItemError(
                f"value {_fmt(shown)} is not allowed by {it.name} ({it.allowed_values})",
                input=input,
                row=row,
                value=v,
            )


def _allowed_mask(item: ItemDefinition, raw: Any, scale: int) -> npt.NDArray[np.bool_]:
    """Rows whose value passes the allowed values: a one-rule table, compiled."""
    assert item.allowed_values is not None
    table = DecisionTable(
        f"{item.name} allowed values",
        "FIRST",
        [InputClause("value")],
        [OutputClause("ok")],
        [Rule("allowed", [item.allowed_values], ["true"])],
    )
    compiled = compile_table(table, scales={"value": scale} if scale != 1 else None)
    return np.asarray(compiled.match_matrix({"value": raw})[0], dtype=bool)


def items_by_name(items: Iterable[ItemDefinition]) -> dict[str, ItemDefinition]:
    """Item definitions keyed by name (later duplicates are an error)."""
    out: dict[str, ItemDefinition] = {}
    for it in items:
        if it.name in out:
            raise TableError(f"duplicate item definition {it.name!r}")
        out[it.name] = it
    return out
