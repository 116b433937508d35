"""The SQL that analytics.getGatewayRequests, getVerifications and getRatelimits accept:
one SELECT over one of Unkey's public aliases, checked and rewritten before the store
sees it. The caller's text never reaches DuckDB: it is parsed (ClickHouse's dialect, as
Unkey's examples are written), every node is checked against what a chart or a table
needs, and DuckDB's SQL is generated from the checked tree.

What a query gets:
- the alias is replaced by its table, cut to the caller's workspace (and the projects,
  keyspaces or namespaces its permissions name) and to a time window: the `time`
  conditions joined to the rest of WHERE with AND (`time >= now() - INTERVAL 1 DAY`,
  `time BETWEEN <ms> AND <ms>`, `toUnixTimestamp64Milli(...)`), else the last hour;
  at most MAX_WINDOW wide. `time` is milliseconds since the epoch.
- a LIMIT: DEFAULT_LIMIT rows unless it says, at most MAX_LIMIT; OFFSET at most MAX_OFFSET.
Anything else (joins, subqueries, CTEs, UNION, table functions, other tables, unknown
functions, several statements) is a QueryRejected with a message that says what to change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from dockyard.analytics.records import Table
from dockyard.analytics.window import QueryRejected, ms, window

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
MAX_OFFSET = 100_000
MAX_QUERY_CHARS = 10_000

UNPARSABLE = "the query is not valid SQL: {reason}"
ONE_SELECT = "send exactly one SELECT statement"
NO_TABLE = "the query must read from {aliases}"
WRONG_TABLE = "the query may read only from {aliases}, not {name!r}"
NOT_SUPPORTED = "{what} is not supported in analytics queries"
UNKNOWN_FUNCTION = "the function {name}() is not supported in analytics queries"
LIMIT_VALUE = "LIMIT must be a whole number from 1 to {most}"
OFFSET_VALUE = "OFFSET must be a whole number from 0 to {most}"
TOO_LONG = "the query is longer than {most} characters"
TOO_DEEP = "the query nests expressions too deeply"

# Functions beyond sqlglot's typed nodes, by their lower-case name: the DuckDB function
# each becomes. Time conversions between milliseconds and timestamps only.
FUNCTIONS = {
    "fromunixtimestamp64milli": "epoch_ms",
    "tounixtimestamp64milli": "epoch_ms",
    "now64": "now",
    "now": "now",
}
ALLOWED: tuple[type[exp.Expression], ...] = (
    exp.Select, exp.From, exp.Table, exp.TableAlias, exp.Identifier, exp.Column, exp.Star,
    exp.Alias, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.Offset, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.And, exp.Or, exp.Not,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like,
    exp.ILike, exp.Is, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Count,
    exp.CountIf, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Quantile, exp.ApproxDistinct,
    exp.Distinct, exp.Interval, exp.Var, exp.Case, exp.If, exp.TimestampTrunc,
    exp.DateTrunc, exp.CurrentTimestamp, exp.Cast, exp.DataType, exp.DataTypeParam,
    exp.Round, exp.Abs, exp.Lower, exp.Upper, exp.Coalesce, exp.Length, exp.Anonymous,
    exp.AnyValue, exp.ArgMax, exp.ArgMin, exp.Floor, exp.Ceil, exp.Greatest, exp.Least,
)  # fmt: skip
REFUSED_KINDS = {
    exp.Join: "a JOIN",
    exp.Subquery: "a subquery",
    exp.With: "a WITH clause (CTE)",
    exp.Union: "UNION",
    exp.Except: "EXCEPT",
    exp.Intersect: "INTERSECT",
}


@dataclass(frozen=True)
class Scope:
    """Where a caller's query may look: its workspace, and when its permissions name
    only some, those ids of `column` (project_id, key_space_id, namespace_id)."""

    workspace_id: str
    column: str
    ids: frozenset[str] | None = None  # None: every one in the workspace


@dataclass(frozen=True)
class Checked:
    sql: str  # DuckDB's SQL, generated from the checked tree
    start_ms: int
    end_ms: int
    limit: int


def check(
    text: str, table: Table, scope: Scope, *, now_ms: Callable[[], int] | None = None
) -> Checked:
    """The query as DuckDB SQL over `table`, bounded; QueryRejected when it is not allowed."""
    try:
        return _check(text, table, scope, (now_ms or _now_ms)())
    except RecursionError as error:  # parsing and checking both recurse into the tree
        raise QueryRejected(TOO_DEEP) from error


def _check(text: str, table: Table, scope: Scope, now: int) -> Checked:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejected(TOO_LONG.format(most=MAX_QUERY_CHARS))
    try:
        parsed: list[Any] = sqlglot.parse(text, read="clickhouse")
        statements: list[exp.Expression] = [s for s in parsed if s is not None]
    except ParseError as error:
        reason = error.errors[0]["description"] if error.errors else str(error)
        raise QueryRejected(UNPARSABLE.format(reason=reason)) from error
    except SqlglotError as error:  # the tokenizer's: an unterminated string, a stray `$`
        raise QueryRejected(UNPARSABLE.format(reason=str(error))) from error
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        for statement in statements:
            _refuse_kinds(statement)
        raise QueryRejected(ONE_SELECT)
    select = statements[0]
    _refuse_kinds(select)
    _check_nodes(select)
    unit = _check_tables(select, table)
    _translate_functions(select)
    start, end = window(select, now, timestamps=unit is not None)
    limit = _limit(select)
    select.set("from_", exp.From(this=_bounded(table, unit, scope, start, end, select)))
    return Checked(select.sql(dialect="duckdb"), start, end, limit)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _refuse_kinds(tree: exp.Expression) -> None:
    for node in tree.walk():
        for kind, what in REFUSED_KINDS.items():
            if isinstance(node, kind):
                raise QueryRejected(NOT_SUPPORTED.format(what=what))
        if isinstance(node, exp.Select) and node is not tree:
            raise QueryRejected(NOT_SUPPORTED.format(what="a subquery"))


def _check_nodes(select: exp.Select) -> None:
    for node in select.walk():
        if isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name not in FUNCTIONS:
                raise QueryRejected(UNKNOWN_FUNCTION.format(name=node.name))
        elif isinstance(node, exp.Func) and not isinstance(node, ALLOWED):
            raise QueryRejected(UNKNOWN_FUNCTION.format(name=node.sql_name()))
        elif not isinstance(node, ALLOWED):
            what = type(node).__name__.upper()
            raise QueryRejected(NOT_SUPPORTED.format(what=what))


def _check_tables(select: exp.Select, table: Table) -> str | None:
    """The unit of the rollup the query reads (None: the rows themselves)."""
    aliases = table.aliases()
    named = ", ".join(f"`{alias}`" for alias in aliases)
    tables = list(select.find_all(exp.Table))
    if not tables or select.args.get("from_") is None:
        raise QueryRejected(NO_TABLE.format(aliases=named))
    for found in tables:
        if found.args.get("db") or found.args.get("catalog") or found.name not in aliases:
            raise QueryRejected(WRONG_TABLE.format(aliases=named, name=found.sql("clickhouse")))
    return aliases[tables[0].name]


def _translate_functions(select: exp.Select) -> None:
    for node in list(select.find_all(exp.Anonymous)):
        name = FUNCTIONS[str(node.name).lower()]
        if name == "now":
            node.replace(exp.CurrentTimestamp())
        else:
            node.replace(exp.Anonymous(this=name, expressions=node.expressions))


def _limit(select: exp.Select) -> int:
    limit = DEFAULT_LIMIT
    given = select.args.get("limit")
    if given is not None:
        limit = _whole(given.expression, LIMIT_VALUE.format(most=MAX_LIMIT), 1, MAX_LIMIT)
    offset = select.args.get("offset")
    if offset is not None:
        _whole(offset.expression, OFFSET_VALUE.format(most=MAX_OFFSET), 0, MAX_OFFSET)
    select.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
    return limit


def _whole(node: exp.Expression | None, message: str, least: int, most: int) -> int:
    if not isinstance(node, exp.Literal) or node.is_string or not node.this.isdigit():
        raise QueryRejected(message)
    value = int(node.this)
    if not least <= value <= most:
        raise QueryRejected(message)
    return value


def _bounded(
    table: Table, unit: str | None, scope: Scope, start: int, end: int, select: exp.Select
) -> exp.Table:
    """The table as the query may see it: a subquery on workspace, scope and window (then
    counted per `unit` for a rollup), named as the query named the alias."""
    found = select.args["from_"].this
    name = found.alias_or_name
    conditions: list[exp.Expression] = [
        exp.EQ(this=exp.column("workspace_id"), expression=exp.Literal.string(scope.workspace_id)),
        exp.GTE(this=exp.column("time"), expression=ms(start)),
        exp.LT(this=exp.column("time"), expression=ms(end)),
    ]
    if scope.ids is not None:
        ids = [exp.Literal.string(value) for value in sorted(scope.ids)]
        conditions.append(exp.In(this=exp.column(scope.column), expressions=ids))
    if unit is None or table.rollup is None:
        inner = (
            exp.select(*[exp.column(column) for column in table.column_names])
            .from_(table.name)
            .where(exp.and_(*conditions))
        )
    else:
        dimensions = table.rollup.dimensions
        inner = (
            exp.select(
                f"date_trunc('{unit}', epoch_ms(time)) AS time",
                *dimensions,
                *table.rollup.measures,
                dialect="duckdb",
            )
            .from_(table.name)
            .where(exp.and_(*conditions))
            .group_by(*[str(position) for position in range(1, len(dimensions) + 2)])
        )
    return inner.subquery(alias=name)  # type: ignore[return-value]
