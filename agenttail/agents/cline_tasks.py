"""Cline-family task files (Cline, Roo Code, Kilo Code): ``tasks/<taskId>/ui_messages.json``.

``ui_messages.json`` is a JSON array of ClineMessage rows ``{ts, type, say|ask, text, partial,
modelInfo}``, rewritten whole on every change. A ``say:"api_req_started"`` row is written when a
request starts and updated in place (same ``ts``) when it ends; its ``text`` is a JSON string
``{tokensIn, tokensOut, cacheWrites, cacheReads, cost, cancelReason, apiProtocol, modelId,
reasoningTokens}``. So every row is keyed by ``(task, ts)`` and re-derived on each rewrite: the
store keeps the copy with the larger totals. agent-formats.md section 9, -more 2.9.

Token meaning: with ``apiProtocol: "openai"`` (Roo, Kilo) ``tokensIn`` is the provider's prompt
count, which includes cached input, so the cache reads and writes are taken out of it; otherwise
(Anthropic protocol, and Cline, which does not record a protocol) ``tokensIn`` already excludes
them, as Anthropic's ``input_tokens`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import orjson

from agenttail.agents.base import Agent, AgentContext, StreamSpec, home_dir
from agenttail.agents.fields import as_dict, as_int
from agenttail.agents.vscode_paths import PORTABLE_ENV, user_dirs
from agenttail.events import EventKind, MetricEvent, TokenCounts, nusd_from_usd, stable_id
from agenttail.pricing import cost_or_recorded
from agenttail.readers.base import Record
from agenttail.readers.json_document import HEADER_POSITION, JsonDocumentReader

API_REQUEST = "api_req_started"
# Rows where the user speaks: the task itself (the first row, ``say:"text"`` in Cline, Roo and
# Kilo; ``say:"task"`` in early builds) and a reply to an ask (``user_feedback``). Each opens a
# run: the requests and tool uses until the next one answer it.
USER_ROWS = ("task", "user_feedback")
# Rows that are tool uses, with the tool name when the row does not carry one in its JSON.
TOOL_ROWS = {"tool": None, "command": "execute_command", "use_mcp_server": None}
BROWSER_ROWS = {"browser_action_launch": "browser_action"}


def parse_text(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a row keeps in its ``text`` string (empty when it is not one)."""
    text = row.get("text")
    if not isinstance(text, str) or not text.startswith("{"):
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return as_dict(value)


def request_tokens(info: dict[str, Any]) -> TokenCounts:
    """House token classes from a ClineApiReqInfo (see the module doc for ``apiProtocol``)."""
    tokens_in = as_int(info.get("tokensIn"))
    cache_read = as_int(info.get("cacheReads"))
    cache_write = as_int(info.get("cacheWrites"))
    output = as_int(info.get("tokensOut"))
    reasoning = as_int(info.get("reasoningTokens"))
    if info.get("apiProtocol") == "openai":
        return TokenCounts.from_inclusive_input(
            tokens_in, cache_read, cache_write, output=output, reasoning=reasoning
        )
    return TokenCounts(
        input_tokens=tokens_in,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def row_model(row: dict[str, Any], info: dict[str, Any]) -> tuple[str | None, str | None]:
    """(model, provider) of a request: the request's own, else the row's ``modelInfo``."""
    model = info.get("modelId")
    provider = info.get("providerId")
    model_info = as_dict(row.get("modelInfo"))
    if not isinstance(model, str) or not model:
        model = model_info.get("modelId")
    if not isinstance(provider, str) or not provider:
        provider = model_info.get("providerId")
    return (
        model if isinstance(model, str) and model else None,
        provider if isinstance(provider, str) and provider else None,
    )


def _recorded_cost(info: dict[str, Any]) -> int | None:
    cost = info.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float) or cost != cost or cost < 0:
        return None
    return nusd_from_usd(cost)


class TaskEvents:
    """Turns one task's rows into events; carries the last known model between rows."""

    def __init__(
        self,
        agent: str,
        task_id: str,
        project: str | None,
        model: str | None,
        run_ts: int | None = None,
    ) -> None:
        self.agent = agent
        self.task_id = task_id
        self.project = project
        self.model = model
        self.run_ts = run_ts

    @property
    def run_id(self) -> str:
        return stable_id(self.agent, "run", self.task_id, self.run_ts)

    def event(self, row: dict[str, Any], first: bool = False) -> MetricEvent | None:
        """The event of one row; ``first`` marks the task's first row (its prompt)."""
        ts = as_int(row.get("ts"))
        if ts <= 0:
            return None
        model_info = as_dict(row.get("modelInfo")).get("modelId")
        if isinstance(model_info, str) and model_info:
            self.model = model_info
        kind = row.get("say") if row.get("type") == "say" else row.get("ask")
        if first or self.run_ts is None or (row.get("type") == "say" and kind in USER_ROWS):
            self.run_ts = ts
        if kind == API_REQUEST and row.get("type") == "say":
            return self.request(row, ts)
        if kind in TOOL_ROWS or kind in BROWSER_ROWS:
            return self.tool(row, ts, str(kind))
        return None

    def request(self, row: dict[str, Any], ts: int) -> MetricEvent | None:
        info = parse_text(row)
        tokens = request_tokens(info)
        recorded = _recorded_cost(info)
        cancel = info.get("cancelReason")
        if tokens.all_input + tokens.output_tokens == 0 and recorded is None and not cancel:
            return None  # started, not finished: the in-place update brings the numbers
        model, provider = row_model(row, info)
        model = model or self.model
        attrs: dict[str, Any] = {}
        if info.get("usageMissing") is True:
            attrs["usage_missing"] = True
        return MetricEvent(
            event_id=stable_id(self.agent, "request", self.task_id, ts),
            kind=EventKind.LLM_REQUEST,
            agent=self.agent,
            session_id=self.task_id,
            ts_ms=ts,
            run_id=self.run_id,
            project=self.project,
            model=model,
            cost_nusd=cost_or_recorded(model, tokens, recorded, provider),
            recorded_cost_nusd=recorded,
            context_tokens=tokens.all_input or None,
            error_class=cancel if isinstance(cancel, str) and cancel else None,
            ok=not cancel,
            attrs=attrs,
            **tokens.fields(),
        )

    def tool(self, row: dict[str, Any], ts: int, kind: str) -> MetricEvent | None:
        if row.get("partial") is True:
            return None  # still streaming; the finished row has the same ts
        info = parse_text(row)
        name = TOOL_ROWS.get(kind) or BROWSER_ROWS.get(kind)
        if kind == "tool":
            name = info.get("tool") if isinstance(info.get("tool"), str) else None
        elif kind == "use_mcp_server":
            tool = info.get("toolName") or info.get("uri")
            server = info.get("serverName")
            name = f"mcp:{server}/{tool}" if server and tool else None
        if not name:
            return None
        return MetricEvent(
            event_id=stable_id(self.agent, "tool", self.task_id, ts),
            kind=EventKind.TOOL_CALL,
            agent=self.agent,
            session_id=self.task_id,
            ts_ms=ts,
            run_id=self.run_id,
            project=self.project,
            model=self.model,
            tool_name=str(name),
        )


def latest_model(metadata: dict[str, Any]) -> str | None:
    """The model a task last used, from ``task_metadata.json``'s ``model_usage`` list."""
    usage = metadata.get("model_usage")
    best: tuple[int, str] | None = None
    for item in usage if isinstance(usage, list) else []:
        entry = as_dict(item)
        model = entry.get("model_id")
        if isinstance(model, str) and model:
            ts = as_int(entry.get("ts"))
            if best is None or ts >= best[0]:
                best = (ts, model)
    return best[1] if best else None


def _task_id(path: Path) -> str:
    return path.parent.name


def _task_model(task_dir: Path) -> str | None:
    try:
        metadata = orjson.loads((task_dir / "task_metadata.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return latest_model(as_dict(metadata))


@lru_cache(maxsize=16)
def _task_folders(history: str, mtime_ns: int) -> dict[str, str]:
    """Task id -> the folder it started in, from ``state/taskHistory.json`` (HistoryItem
    ``cwdOnTaskInitialization``); cached per file version."""
    try:
        items = orjson.loads(Path(history).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    folders: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        entry = as_dict(item)
        task_id, cwd = entry.get("id"), entry.get("cwdOnTaskInitialization")
        if isinstance(task_id, str) and isinstance(cwd, str) and cwd:
            folders[task_id] = cwd
    return folders


def task_project(root: Path, task_id: str) -> str | None:
    """The folder a task started in, when its extension keeps ``state/taskHistory.json``."""
    history = root / "state" / "taskHistory.json"
    try:
        mtime_ns = history.stat().st_mtime_ns
    except OSError:
        return None
    return _task_folders(str(history), mtime_ns).get(task_id)


def task_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    """A batch of one task's ``ui_messages.json`` rows (the whole file again after a rewrite)."""
    state = context.state.data
    task_dir = context.stream.path.parent
    if "model" not in state:
        state["model"] = _task_model(task_dir)
    if not state.get("project"):
        state["project"] = task_project(task_dir.parent.parent, context.stream.session_id)
    task = TaskEvents(
        context.stream.agent,
        context.stream.session_id,
        state["project"],
        state["model"],
        state.get("run_ts"),
    )
    events = []
    for record in records:
        if record.position == HEADER_POSITION:
            continue
        event = task.event(record.data, first=record.position == 0)
        if event is not None:
            events.append(event)
    state["model"] = task.model
    state["run_ts"] = task.run_ts
    return events


class ClineFamilyAgent(Agent):
    """A Cline-family VS Code extension: its ``globalStorage`` folder in every VS Code variant,
    remote server folder and portable install is a root."""

    extension_id: ClassVar[str] = ""
    service_env = (PORTABLE_ENV,)
    streams = (
        StreamSpec(
            "transcript",
            JsonDocumentReader(None),
            ("tasks/*/ui_messages.json",),
            _task_id,
            task_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        storage = [
            user / "globalStorage" / self.extension_id
            for user in user_dirs(env, home_dir(env, platform), platform)
        ]
        return storage + [r for r in super().resolve_roots(env, platform) if r not in storage]
