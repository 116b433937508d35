"""The time window of an analytics query: what its `time` conditions ask for.

Only conditions joined to the rest of WHERE with AND count. Each compares `time` (or
`fromUnixTimestamp64Milli(time)`) with a value computed here: milliseconds since the
epoch, or now() plus or minus INTERVALs, possibly inside toUnixTimestamp64Milli(). The
computed value replaces the expression, so the store compares integers, and the window
bounds the table the query reads: the last hour without conditions, at most MAX_WINDOW.
"""

from __future__ import annotations

from datetime import timedelta

from sqlglot import exp

DEFAULT_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=31)

TIME_VALUE = (
    "a condition on `time` must compare it with milliseconds since the epoch or "
    "now() plus or minus an INTERVAL"
)
BACKWARDS = "the time range is empty: its start is after its end"
TOO_WIDE = "the time range is longer than {days} days; ask for a narrower window"

MS = {
    "MILLISECOND": 1,
    "SECOND": 1_000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
    "WEEK": 7 * 86_400_000,
    "MONTH": 30 * 86_400_000,
}

# `5 < time` is `time > 5`.
FLIPPED: dict[type[exp.Binary], type[exp.Binary]] = {
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
}


class QueryRejected(ValueError):
    """A query outside the subset; the message says what to change."""


def _is_time(node: exp.Expression) -> bool:
    """`time`, or `time` converted to a timestamp (which then compares as ms)."""
    if isinstance(node, exp.Column):
        return node.name == "time"
    if isinstance(node, exp.Anonymous) and str(node.name).lower() == "epoch_ms":
        return len(node.expressions) == 1 and _is_time(node.expressions[0])
    return False


def _value_ms(node: exp.Expression, now: int) -> int:
    """What a bound on `time` evaluates to, in ms since the epoch."""
    if isinstance(node, exp.Paren):
        return _value_ms(node.this, now)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(float(node.this))
        except (ValueError, OverflowError):  # not a number, or 1e400
            pass
    elif isinstance(node, exp.CurrentTimestamp):
        return now
    elif isinstance(node, exp.Anonymous) and str(node.name).lower() == "epoch_ms":
        if len(node.expressions) == 1:
            return _value_ms(node.expressions[0], now)
    elif isinstance(node, exp.Neg):
        return -_value_ms(node.this, now)
    elif isinstance(node, exp.Interval):
        unit = str(node.unit.name if node.unit else "").upper().rstrip("S")
        if unit in MS:
            return _value_ms(node.this, now) * MS[unit]
    elif isinstance(node, exp.Add | exp.Sub):
        left, right = _value_ms(node.this, now), _value_ms(node.expression, now)
        return left + right if isinstance(node, exp.Add) else left - right
    elif isinstance(node, exp.Literal) and node.is_string:
        inner = node.this.strip()
        if inner.isdigit():
            return int(inner)
    raise QueryRejected(TIME_VALUE)


def _conjuncts(where: exp.Expression) -> list[exp.Expression]:
    if isinstance(where, exp.And):
        return [*_conjuncts(where.this), *_conjuncts(where.expression)]
    if isinstance(where, exp.Paren):
        return _conjuncts(where.this)
    return [where]


def window(select: exp.Select, now: int, *, timestamps: bool = False) -> tuple[int, int]:
    """The [start, end) in ms the top-level `time` conditions ask for. Their bounds become
    literals, so the store compares integers (timestamps, for a rollup's `time`)."""

    def ms(value: int) -> exp.Expression:
        literal = exp.Literal.number(value)
        return exp.Anonymous(this="epoch_ms", expressions=[literal]) if timestamps else literal

    lowers: list[int] = []
    uppers: list[int] = []
    where = select.args.get("where")
    for condition in _conjuncts(where.this) if where is not None else []:
        if isinstance(condition, exp.Between) and _is_time(condition.this):
            low = _value_ms(condition.args["low"], now)
            high = _value_ms(condition.args["high"], now)
            condition.replace(exp.Between(this=exp.column("time"), low=ms(low), high=ms(high)))
            lowers.append(low)
            uppers.append(high + 1)
            continue
        if not isinstance(condition, exp.GT | exp.GTE | exp.LT | exp.LTE | exp.EQ):
            continue
        left, right = condition.this, condition.expression
        flipped = False
        if _is_time(right) and not _is_time(left):
            left, right, flipped = right, left, True
        if not _is_time(left):
            continue
        value = _value_ms(right, now)
        kind: type[exp.Binary] = type(condition)
        if flipped:
            kind = FLIPPED.get(kind, kind)
        condition.replace(kind(this=exp.column("time"), expression=ms(value)))
        if kind in (exp.GT, exp.GTE, exp.EQ):
            lowers.append(value + (1 if kind is exp.GT else 0))
        if kind in (exp.LT, exp.LTE, exp.EQ):
            uppers.append(value + (0 if kind is exp.LT else 1))
    end = min(uppers) if uppers else now + 1
    start = max(lowers) if lowers else end - _ms_of(DEFAULT_WINDOW)
    if start > end:
        raise QueryRejected(BACKWARDS)
    if end - start > _ms_of(MAX_WINDOW):
        raise QueryRejected(TOO_WIDE.format(days=MAX_WINDOW.days))
    return start, end


def ms(value: int) -> exp.Expression:
    return exp.Literal.number(value)


def _ms_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)
