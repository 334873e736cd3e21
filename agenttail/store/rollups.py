"""Rollup tables kept by triggers on ``events``, so analytics never scans the history.

Each rollup is an upsert of one events row (``NEW`` added, ``OLD`` subtracted) into a table
keyed by a time slice and the dimensions reports filter on. Every value is an integer
(tokens, nanodollars, microseconds, counts), so sums are exact whatever the order of ingestion.

Time-keyed rollups have a daily twin (``<table>_daily``): a long window reads its whole UTC
days there and only its ragged ends from the fine table, so its cost follows the number of
days, not of 15-minute slices.

Durations go into a bounded log-scale histogram (16 bins per doubling, so a bin spans 4.4% and
a percentile read from the bin's geometric centre is within 2.2% of the exact value) per hour,
agent, project, metric and subject (model or tool). An exact percentile would need a sort of
every matching duration; the histogram answers from a few thousand rows however long the
history is.

The tables belong to migration m007 (``migrations.py``). The triggers as defined here belong
to m010, which re-creates them and rebuilds every rollup from the events: a row no event counts
in is deleted and an extreme a replaced copy held is read again, so the triggers' result equals
a rebuild (the bulk load builds the rollups that way, ``store/bulk.py``). A later change to a
rollup is a new migration, never an edit here alone.
The team store keeps the same rollups on SQLite and PostgreSQL (``store/team/rollups.py``
rewrites the flags as CASE: PostgreSQL does not sum booleans).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from agenttail.store.slices import BINS_PER_DOUBLING, DAY_MS, HOUR_MS, SPAN_MS

if TYPE_CHECKING:  # reports import this module's constants without loading sqlite-utils
    from sqlite_utils import Database


class Executes(Protocol):
    """A sqlite3 connection or a sqlite-utils Database: both run a statement."""

    def execute(self, sql: str, /) -> Any: ...


COUNTED_REQUEST = "{r}.kind = 'llm_request' AND {r}.counted = 1 AND {r}.estimated = 0"


def duration_bin(column: str) -> str:
    """SQL for a duration's histogram bin (durations under 1 ms share the 1 ms bin)."""
    return f"CAST(round(log2(max({column}, 1.0)) * {BINS_PER_DOUBLING}) AS INTEGER)"


def portable_duration_bin(column: str) -> str:
    """``duration_bin`` in SQL PostgreSQL runs too (no log2, no two-argument max)."""
    at_least_1 = f"CASE WHEN {column} > 1.0 THEN {column} ELSE 1.0 END"
    return f"CAST(round(ln({at_least_1}) / ln(2.0) * {BINS_PER_DOUBLING}) AS BIGINT)"


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: dict[str, str]  # column -> SQL over {r}
    sums: dict[str, str]  # column -> SQL over {r}, summed
    where: str  # SQL over {r}: which rows count
    extremes: dict[str, tuple[str, str]]  # column -> ("min" | "max", SQL over {r})
    watched: tuple[str, ...]  # events columns whose change moves a row in or out

    count: str | None = None  # the sum that counts the row's events: a row at 0 is deleted
    # A coarser twin's source: (finer table, its time key, its slices per slice here).
    finer: tuple[str, str, int] | None = None

    def create(self, db: Database) -> None:
        key_defs = ", ".join(f"{name} {_key_type(name)} NOT NULL" for name in self.keys)
        sum_defs = ", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in self.sums)
        extreme_defs = "".join(f", {name} {_value_type(name)}" for name in self.extremes)
        db.execute(
            f"CREATE TABLE {self.table} ({key_defs}, {sum_defs}{extreme_defs}, "
            f"PRIMARY KEY ({', '.join(self.keys)})) WITHOUT ROWID"
        )
        self.create_triggers(db)
        self.fill(db)

    def triggers(self) -> dict[str, str]:
        """Trigger name -> CREATE TRIGGER statement keeping this rollup equal to a rebuild."""
        add_new, sub_old = self.upsert("NEW", ""), self.upsert("OLD", "-")
        name = f"{self.table}_events"
        return {
            f"{name}_insert": f"AFTER INSERT ON events BEGIN {add_new} END",
            f"{name}_update": (
                f"AFTER UPDATE OF {', '.join(self.watched)} ON events "
                f"BEGIN {sub_old} {add_new} {self.prune(new=True)} END"
            ),
            f"{name}_delete": f"AFTER DELETE ON events BEGIN {sub_old} {self.prune(new=False)} END",
        }

    def create_triggers(self, db: Executes) -> None:
        for name, body in self.triggers().items():
            db.execute(f"CREATE TRIGGER {name} {body}")

    def drop_triggers(self, db: Executes) -> None:
        for name in self.triggers():
            db.execute(f"DROP TRIGGER IF EXISTS {name}")

    def _at(self, row: str) -> str:
        """This table's row for the events row ``row`` (NEW or OLD)."""
        return " AND ".join(f"{c} = {expr.format(r=row)}" for c, expr in self.keys.items())

    def _same_row(self, row: str, other: str) -> str:
        """Whether two events rows fall in the same rollup row."""
        return " AND ".join(f"{e.format(r=row)} = {e.format(r=other)}" for e in self.keys.values())

    def prune(self, *, new: bool) -> str:
        """After OLD was taken out (and NEW added, when ``new``): a row no event counts in any
        more is deleted, and an extreme that OLD held is read again from the events, so the
        rollup equals a rebuild from the events (a replaced copy leaves no trace)."""
        if self.count is not None:
            return f"DELETE FROM {self.table} WHERE {self._at('OLD')} AND {self.count} = 0;"
        if not self.extremes:
            return ""
        counted_old = self.where.format(r="OLD")
        stays = (
            f"COALESCE({self._same_row('NEW', 'OLD')} AND {self.where.format(r='NEW')}, 0)"
            if new
            else "0"
        )
        source = (
            f"FROM events AS e WHERE {self._same_row('e', 'OLD')} AND {self.where.format(r='e')}"
        )
        sets = []
        for column, (fn, expr) in self.extremes.items():
            old, replacement = expr.format(r="OLD"), expr.format(r="NEW")
            covers = f"{replacement} {'<=' if fn == 'min' else '>='} {old}"
            kept = f"COALESCE({stays} AND {covers}, 0)" if new else "0"
            fresh = f"(SELECT {fn}({expr.format(r='e')}) {source})"
            sets.append(
                f"{column} = CASE WHEN {column} = {old} AND NOT {kept} THEN {fresh} "
                f"ELSE {column} END"
            )
        return (
            f"UPDATE {self.table} SET {', '.join(sets)} WHERE {self._at('OLD')} AND {counted_old}; "
            f"DELETE FROM {self.table} WHERE {self._at('OLD')} AND {counted_old} AND NOT {stays} "
            f"AND NOT EXISTS (SELECT 1 {source});"
        )

    def daily(self) -> Rollup:
        """The same rollup per UTC day (``<table>_daily``, time key ``day``): long windows read
        whole days from it and only their ragged ends from the fine table."""
        return self.coarser("day", DAY_MS, "daily")

    def coarser(self, key: str, slice_ms: int, suffix: str, drop: tuple[str, ...] = ()) -> Rollup:
        """The same rollup per ``slice_ms`` (``<table>_<suffix>``, time key ``key``), without
        the ``drop`` dimensions."""
        rest = [k for k in list(self.keys)[1:] if k not in drop]  # keys[0] is the time slice
        keys = {key: f"{{r}}.ts_ms / {slice_ms}", **{k: self.keys[k] for k in rest}}
        own_key, own_expr = next(iter(self.keys.items()))
        finer = (self.table, own_key, slice_ms // int(own_expr.rsplit("/", 1)[1]))
        return replace(self, table=f"{self.table}_{suffix}", keys=keys, finer=finer)

    def upsert(self, row: str, sign: str) -> str:
        """One statement adding (``sign`` "") or subtracting ("-") ``row`` (NEW or OLD)."""
        names = [*self.keys, *self.sums]
        values = [expr.format(r=row) for expr in self.keys.values()]
        # COALESCE: a comparison with a NULL column (a tool call of unknown outcome) is NULL.
        values += [f"{sign}COALESCE({expr.format(r=row)}, 0)" for expr in self.sums.values()]
        if not sign:
            names += list(self.extremes)
            values += [expr.format(r=row) for _fn, expr in self.extremes.values()]
        sets = self._conflict_sets(sign, "min", "max", old="")
        return (
            f"INSERT INTO {self.table} ({', '.join(names)}) SELECT {', '.join(values)} "
            f"WHERE {self.where.format(r=row)} "
            f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {', '.join(sets)};"
        )

    def _conflict_sets(self, sign: str, least: str, greatest: str, old: str) -> list[str]:
        """An upsert's SET list: sums add up; extremes (only when adding) keep the min/max.
        ``old`` qualifies the stored row's columns (PostgreSQL needs the table's name)."""
        sets = [f"{c} = {old}{c} + excluded.{c}" for c in self.sums]
        if not sign:
            sets += [
                f"{c} = COALESCE({least if fn == 'min' else greatest}({old}{c}, excluded.{c}), "
                f"{old}{c}, excluded.{c})"
                for c, (fn, _expr) in self.extremes.items()
            ]
        return sets

    def merge(self, events: str, selection: str, sign: str, least: str, greatest: str) -> str:
        """One statement adding (``sign`` "") or subtracting ("-") the ``events`` rows (as
        ``r``) that pass ``selection``: the set-at-a-time twin of the triggers, for stores
        that keep rollups in their own transaction (the team store). ``least``/``greatest``
        name the engine's two-argument min and max."""
        keys = [expr.format(r="r") for expr in self.keys.values()]
        values = keys + [f"{sign}sum(COALESCE({e.format(r='r')}, 0))" for e in self.sums.values()]
        names = [*self.keys, *self.sums]
        if not sign:
            names += list(self.extremes)
            values += [f"{fn}({expr.format(r='r')})" for fn, expr in self.extremes.values()]
        sets = self._conflict_sets(sign, least, greatest, old=f"{self.table}.")
        return (
            f"INSERT INTO {self.table} ({', '.join(names)}) SELECT {', '.join(values)} "
            f"FROM {events} AS r WHERE ({selection}) AND {self.where.format(r='r')} "
            f"GROUP BY {', '.join(keys)} "
            f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {', '.join(sets)}"
        )

    def fill(self, db: Executes) -> None:
        """Build the rollup from the events already stored (the rollup table empty).

        A coarser twin is summed from its finer table, filled first: whole slices nest, and
        integer sums do not depend on how they are grouped."""
        if self.finer is not None and not self.extremes:
            table, finer_time, factor = self.finer
            time_key, *rest = self.keys
            group = [f"{finer_time} / {factor}", *rest]
            sums = [f"sum({name})" for name in self.sums]
            db.execute(
                f"INSERT INTO {self.table} ({', '.join([time_key, *rest, *self.sums])}) "
                f"SELECT {', '.join(group + sums)} FROM {table} GROUP BY {', '.join(group)}"
            )
            return
        keys = [expr.format(r="events") for expr in self.keys.values()]
        sums = [f"sum(COALESCE({expr.format(r='events')}, 0))" for expr in self.sums.values()]
        extremes = [f"{fn}({expr.format(r='events')})" for fn, expr in self.extremes.values()]
        names = [*self.keys, *self.sums, *self.extremes]
        db.execute(
            f"INSERT INTO {self.table} ({', '.join(names)}) "
            f"SELECT {', '.join(keys + sums + extremes)} FROM events "
            f"WHERE {self.where.format(r='events')} GROUP BY {', '.join(keys)}"
        )


def _key_type(name: str) -> str:
    return "INTEGER" if name in ("bucket", "hour", "day", "span", "bin") else "TEXT"


def _value_type(name: str) -> str:
    return "TEXT" if name == "project" else "INTEGER"


def _flag(condition: str) -> str:
    return f"({condition})"


_REQUEST = "{r}.kind = 'llm_request' AND {r}.estimated = 0"
_FAILED_TOOL = "{r}.kind = 'tool_call' AND {r}.ok = 0"

# A request's tokens and costs: event columns that the usage and session rollups sum under
# the same names (costs NULL when unpriced or not recorded) and whose changes their triggers
# watch.
_TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_COST_COLUMNS = ("cost_nusd", "recorded_cost_nusd")
_TOKEN_COST_COLUMNS = _TOKEN_COLUMNS + _COST_COLUMNS

USAGE = Rollup(
    table="usage_rollup",
    keys={
        "bucket": "{r}.ts_ms / 900000",
        "agent": "{r}.agent",
        "project": "COALESCE({r}.project, '')",
        "model": "COALESCE({r}.model, '')",
    },
    sums={
        **{column: f"{{r}}.{column}" for column in _TOKEN_COLUMNS},
        **{column: f"COALESCE({{r}}.{column}, 0)" for column in _COST_COLUMNS},
        "requests": "1",
        "unpriced_requests": "({r}.cost_nusd IS NULL)",
        "recorded_requests": "({r}.recorded_cost_nusd IS NOT NULL)",
        "unknown_token_requests": "({r}.tokens_known = 0)",
        "duration_us": "COALESCE(CAST(round({r}.duration_ms * 1000) AS INTEGER), 0)",
        "timed_requests": "({r}.duration_ms IS NOT NULL)",
        "ttft_us": "COALESCE(CAST(round({r}.ttft_ms * 1000) AS INTEGER), 0)",
        "ttft_requests": "({r}.ttft_ms IS NOT NULL)",
    },
    where=COUNTED_REQUEST,
    extremes={},
    count="requests",
    watched=(
        "kind",
        "agent",
        "project",
        "model",
        "ts_ms",
        "counted",
        "estimated",
        "tokens_known",
        *_TOKEN_COST_COLUMNS,
        "duration_ms",
        "ttft_ms",
    ),
)

TOOLS = Rollup(
    table="tool_rollup",
    keys={
        "bucket": "{r}.ts_ms / 900000",
        "agent": "{r}.agent",
        "project": "COALESCE({r}.project, '')",
        "tool": "COALESCE({r}.tool_name, '')",
    },
    sums={
        "calls": "1",
        "ok": "({r}.ok = 1)",
        "failed": "({r}.ok = 0)",
        "duration_us": "COALESCE(CAST(round({r}.duration_ms * 1000) AS INTEGER), 0)",
        "timed_calls": "({r}.duration_ms IS NOT NULL)",
    },
    where="{r}.kind = 'tool_call' AND {r}.counted = 1",
    extremes={},
    count="calls",
    watched=("kind", "agent", "project", "tool_name", "ts_ms", "counted", "ok", "duration_ms"),
)

ERRORS = Rollup(
    table="error_rollup",
    keys={
        "bucket": "{r}.ts_ms / 900000",
        "agent": "{r}.agent",
        "project": "COALESCE({r}.project, '')",
        "model": "COALESCE({r}.model, '')",
        "tool": "COALESCE({r}.tool_name, '')",
        "error_class": (
            "CASE WHEN {r}.kind = 'tool_call' THEN 'tool_failure' "
            "ELSE COALESCE({r}.error_class, 'unknown') END"
        ),
    },
    sums={"errors": "1"},
    where="{r}.counted = 1 AND ({r}.kind = 'api_error' OR (" + _FAILED_TOOL + "))",
    extremes={},
    count="errors",
    watched=(
        "kind",
        "agent",
        "project",
        "model",
        "tool_name",
        "ts_ms",
        "counted",
        "ok",
        "error_class",
    ),
)


def _latency(metric: str, column: str, subject: str, kind: str) -> Rollup:
    return Rollup(
        table=f"latency_hist_{metric}",
        keys={
            "hour": "{r}.ts_ms / 3600000",
            "agent": "{r}.agent",
            "project": "COALESCE({r}.project, '')",
            "subject": f"COALESCE({{r}}.{subject}, '')",
            "bin": duration_bin("{r}." + column),
        },
        sums={"n": "1"},
        where=(
            f"{{r}}.kind = '{kind}' AND {{r}}.counted = 1 AND {{r}}.{column} IS NOT NULL"
            + (" AND {r}.estimated = 0" if kind == "llm_request" else "")
        ),
        extremes={},
        count="n",
        watched=("kind", "agent", "project", subject, "ts_ms", "counted", column),
    )


LATENCY = {
    "request": _latency("request", "duration_ms", "model", "llm_request"),
    "ttft": _latency("ttft", "ttft_ms", "model", "llm_request"),
    "tool": _latency("tool", "duration_ms", "tool_name", "tool_call"),
}

SESSIONS = Rollup(
    table="session_rollup",
    keys={
        "agent": "{r}.agent",
        "session_id": "{r}.session_id",
        "model": "COALESCE({r}.model, '')",
    },
    sums={
        **{
            name: f"CASE WHEN {_REQUEST} THEN {expr} ELSE 0 END"
            for name, expr in USAGE.sums.items()
            if name in (*_TOKEN_COST_COLUMNS, "requests", "unpriced_requests", "recorded_requests")
        },
        "tool_calls": "({r}.kind = 'tool_call')",
        "tool_failed": _flag(_FAILED_TOOL),
        "api_errors": "({r}.kind = 'api_error')",
        "compactions": "({r}.kind = 'compaction')",
    },
    where="{r}.counted = 1",
    extremes={
        "first_ms": ("min", "{r}.ts_ms"),
        "last_ms": ("max", "{r}.ts_ms"),
        "peak_context_tokens": ("max", "{r}.context_tokens"),
        "project": ("max", "{r}.project"),
    },
    watched=(
        "kind",
        "agent",
        "session_id",
        "model",
        "counted",
        "estimated",
        *_TOKEN_COST_COLUMNS,
        "ok",
    ),
)


_RUN_WHERE = "{r}.run_id IS NOT NULL AND {r}.counted = 1"


def session_runs_triggers() -> dict[str, str]:
    """Trigger name -> body keeping ``session_runs`` equal to the runs of counted events."""
    # An upsert clause, not OR IGNORE: inside a trigger the outer statement's conflict policy
    # would override OR IGNORE.
    insert = (
        "INSERT INTO session_runs (agent, session_id, run_id) "
        f"SELECT NEW.agent, NEW.session_id, NEW.run_id WHERE {_RUN_WHERE.format(r='NEW')} "
        "ON CONFLICT DO NOTHING;"
    )
    same = "NEW.agent = OLD.agent AND NEW.session_id = OLD.session_id AND NEW.run_id = OLD.run_id"
    prune = (
        "DELETE FROM session_runs WHERE agent = OLD.agent AND session_id = OLD.session_id"
        f" AND run_id = OLD.run_id AND {_RUN_WHERE.format(r='OLD')}{{stays}}"
        " AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.session_id = OLD.session_id"
        f" AND e.agent = OLD.agent AND e.run_id = OLD.run_id AND {_RUN_WHERE.format(r='e')});"
    )
    return {
        "session_runs_insert": f"AFTER INSERT ON events BEGIN {insert} END",
        "session_runs_update": (
            "AFTER UPDATE OF run_id, counted ON events BEGIN "
            f"{insert} {prune.format(stays=f' AND NOT COALESCE({same} AND NEW.counted = 1, 0)')}"
            " END"
        ),
        "session_runs_delete": f"AFTER DELETE ON events BEGIN {prune.format(stays='')} END",
    }


def create_session_runs(db: Database) -> None:
    """The runs (user turns) of each session's counted events."""
    db.execute(
        "CREATE TABLE session_runs (agent TEXT NOT NULL, session_id TEXT NOT NULL, "
        "run_id TEXT NOT NULL, PRIMARY KEY (agent, session_id, run_id)) WITHOUT ROWID"
    )
    for name, body in session_runs_triggers().items():
        db.execute(f"CREATE TRIGGER {name} {body}")
    fill_session_runs(db)


def fill_session_runs(db: Executes) -> None:
    db.execute(
        "INSERT OR IGNORE INTO session_runs (agent, session_id, run_id) "
        f"SELECT agent, session_id, run_id FROM events WHERE {_RUN_WHERE.format(r='events')}"
    )


def analytics_rollups() -> list[Rollup]:
    """Every rollup table of m007 but the per-session one, each time-keyed rollup at several
    slice lengths (``<table>``, ``_hourly``, ``_daily``, ``_span`` for four weeks)."""
    rollups: list[Rollup] = []
    for rollup in (USAGE, TOOLS, ERRORS):
        rollups += [rollup, rollup.daily(), rollup.coarser("span", SPAN_MS, "span")]
    for rollup in (USAGE, TOOLS):  # local days in whole-hour timezones, hourly series, blocks
        rollups.append(rollup.coarser("hour", HOUR_MS, "hourly"))
    for rollup in LATENCY.values():
        rollups += [
            rollup,
            rollup.coarser("day", DAY_MS, "daily", drop=("project",)),
            rollup.coarser("span", SPAN_MS, "span", drop=("project",)),
        ]
    return rollups


def create_analytics_rollups(db: Database) -> None:
    """Migration m007: every rollup analytics reads, and the indexes its lookups use.

    A window reads its middle from the coarsest slices that fit and only its ragged ends from
    finer ones. Duration histograms keep the project dimension only at the finest (hourly)
    level: a project filter reads it, everything else the coarse ones, so all-time percentiles
    read thousands of rows, not millions.
    """
    for trigger in ("events_rollup_insert", "events_rollup_update", "events_rollup_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS usage_rollup")
    for rollup in analytics_rollups():
        rollup.create(db)
    SESSIONS.create(db)
    create_session_runs(db)
    db.execute("CREATE INDEX session_rollup_last ON session_rollup (last_ms)")
    # report session ID reads one session's events in order.
    db.execute("CREATE INDEX events_session_time ON events (session_id, ts_ms)")


def rollup_tables() -> list[str]:
    """Every table the triggers on ``events`` keep."""
    return [*(r.table for r in analytics_rollups()), SESSIONS.table, "session_runs"]


def fill_rollups(db: Executes) -> None:
    """Build every rollup from the stored events in one pass each (the tables empty): what the
    triggers would have added up event by event, used after a bulk load without them."""
    for rollup in [*analytics_rollups(), SESSIONS]:
        rollup.fill(db)
    fill_session_runs(db)


def rebuild_rollups(db: Executes) -> None:
    """Re-create every rollup's triggers from these definitions and rebuild its rows."""
    for rollup in [*analytics_rollups(), SESSIONS]:
        rollup.drop_triggers(db)
        rollup.create_triggers(db)
    for name, body in session_runs_triggers().items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {body}")
    for table in rollup_tables():
        db.execute(f"DELETE FROM {table}")
    fill_rollups(db)
