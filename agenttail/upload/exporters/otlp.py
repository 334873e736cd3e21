"""OTLP/HTTP to an OpenTelemetry Collector, encoded with the official opentelemetry-proto.

Each event becomes a log record (``agenttail.<kind>``) with GenAI semantic-convention
attributes (time to first token as ``gen_ai.response.time_to_first_chunk`` in seconds) and every
other metric column of the wire event as ``agenttail.<column>`` (``ttft_ms``, ``duration_ms``,
``context_tokens``, ``history_len``, ``error_class``, costs); token usage becomes the
``gen_ai.client.token.usage`` histogram. Only 429, 502,
503, 504, timeouts and connection errors are retried, as the OTLP specification requires.

The histogram records a request once, when it is first exported: a metric cannot take a value
back, so a later larger revision updates the log record (``agenttail.revision``) only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from agenttail import __version__
from agenttail.upload.exporters.base import Batch, Request

PROTOBUF = "application/x-protobuf"
TOKEN_METRIC = "gen_ai.client.token.usage"
# The semantic conventions' recommended buckets: 1, 4, 16, ... 4**13.
TOKEN_BUCKETS = [float(4**i) for i in range(14)]
SEVERITY_INFO = 9
SEVERITY_WARN = 13
OPERATIONS = {"llm_request": "chat", "tool_call": "execute_tool", "turn": "invoke_agent"}
AGENT_PROVIDERS = {"claude_code": "anthropic", "codex": "openai", "gemini_cli": "gcp.gemini"}
MODEL_PROVIDERS = (
    ("claude", "anthropic"),
    ("gpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("gemini", "gcp.gemini"),
)
Scalar = str | int | float | bool


def provider(event: dict[str, Any]) -> str:
    if event["agent"] in AGENT_PROVIDERS:
        return AGENT_PROVIDERS[event["agent"]]
    model = (event.get("model") or "").lower()
    for prefix, name in MODEL_PROVIDERS:
        if model.startswith(prefix):
            return name
    return str(event["agent"])


def all_input(event: dict[str, Any]) -> int:
    """GenAI input includes cached input (the Anthropic rule in the conventions)."""
    return int(event["input_tokens"] + event["cache_read_tokens"] + event["cache_write_tokens"])


def _value(value: Scalar) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=value)


def _attributes(pairs: Iterable[tuple[str, Scalar | None]]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in pairs if v is not None]


def _resource(source: dict[str, Any]) -> Resource:
    return Resource(
        attributes=_attributes(
            [
                ("service.name", "agenttail"),
                ("service.version", str(source.get("version", __version__))),
                ("host.id", source.get("host_id")),
                ("agenttail.machine.id", source.get("host_id")),
                ("user.name", source.get("user")),
            ]
        )
    )


def _scope() -> InstrumentationScope:
    return InstrumentationScope(name="agenttail", version=__version__)


_GENAI_DONE = {
    "event_id",
    "revision",
    "kind",
    "agent",
    "session_id",
    "model",
    "ts_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "tool_name",
    "attrs",
}


def log_attributes(event: dict[str, Any]) -> list[KeyValue]:
    kind = event["kind"]
    pairs: list[tuple[str, Scalar | None]] = [
        ("event.name", f"agenttail.{kind}"),
        ("agenttail.event_id", event["event_id"]),
        ("agenttail.revision", event["revision"]),
        ("agenttail.kind", kind),
        ("gen_ai.agent.name", event["agent"]),
        ("gen_ai.conversation.id", event["session_id"]),
        ("gen_ai.operation.name", OPERATIONS.get(kind)),
        ("gen_ai.provider.name", provider(event)),
        ("gen_ai.request.model", event.get("model")),
        ("gen_ai.tool.name", event.get("tool_name")),
    ]
    ttft = event.get("ttft_ms")
    pairs += [  # latency in the conventions' unit (seconds); agenttail.ttft_ms etc. follow
        ("gen_ai.response.time_to_first_chunk", None if ttft is None else ttft / 1000),
        ("error.type", event.get("error_class")),
    ]
    if kind == "llm_request":
        pairs += [
            ("gen_ai.usage.input_tokens", all_input(event)),
            ("gen_ai.usage.output_tokens", event["output_tokens"]),
            ("gen_ai.usage.cache_read.input_tokens", event["cache_read_tokens"]),
            ("gen_ai.usage.cache_creation.input_tokens", event["cache_write_tokens"]),
            # The conventions are renaming cache_creation to cache_write: send both names.
            ("gen_ai.usage.cache_write.input_tokens", event["cache_write_tokens"]),
            ("gen_ai.usage.reasoning.output_tokens", event["reasoning_tokens"]),
        ]
    ttft = event.get("ttft_ms")
    if isinstance(ttft, int | float):
        pairs.append(("gen_ai.response.time_to_first_chunk", ttft / 1000))
    for key, value in event.items():
        if key not in _GENAI_DONE and isinstance(value, Scalar):
            pairs.append((f"agenttail.{key}", value))
    for key, value in (event.get("attrs") or {}).items():
        pairs.append((f"agenttail.{key}", value))
    return _attributes(pairs)


def logs_request(batch: Batch, source: dict[str, Any], now_ms: int) -> ExportLogsServiceRequest:
    records = [
        LogRecord(
            time_unix_nano=int(e["ts_ms"]) * 1_000_000,
            observed_time_unix_nano=now_ms * 1_000_000,
            severity_number=SEVERITY_WARN if e["kind"] == "api_error" else SEVERITY_INFO,  # type: ignore[arg-type]
            severity_text="WARN" if e["kind"] == "api_error" else "INFO",
            event_name=f"agenttail.{e['kind']}",
            body=AnyValue(string_value=f"agenttail.{e['kind']}"),
            attributes=log_attributes(e),
        )
        for e in batch.events
    ]
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=_resource(source),
                scope_logs=[ScopeLogs(scope=_scope(), log_records=records)],
            )
        ]
    )


def _bucket(value: int) -> int:
    for index, bound in enumerate(TOKEN_BUCKETS):
        if value <= bound:
            return index
    return len(TOKEN_BUCKETS)


def metrics_request(batch: Batch, source: dict[str, Any]) -> ExportMetricsServiceRequest | None:
    """One histogram point per (provider, model, token type), over first exports only."""
    groups: dict[tuple[str, str | None, str], list[tuple[int, int]]] = defaultdict(list)
    for e in batch.events:
        if (
            e["kind"] != "llm_request"
            or not e["counted"]
            or e["event_id"] not in batch.first_export
        ):
            continue
        for token_type, count in (("input", all_input(e)), ("output", e["output_tokens"])):
            groups[(provider(e), e.get("model"), token_type)].append((int(e["ts_ms"]), count))
    if not groups:
        return None
    points = []
    for (provider_name, model, token_type), values in sorted(
        groups.items(), key=lambda item: tuple(str(part) for part in item[0])
    ):
        counts = [0] * (len(TOKEN_BUCKETS) + 1)
        for _, count in values:
            counts[_bucket(count)] += 1
        tokens = [count for _, count in values]
        points.append(
            HistogramDataPoint(
                start_time_unix_nano=min(ts for ts, _ in values) * 1_000_000,
                time_unix_nano=max(ts for ts, _ in values) * 1_000_000,
                count=len(values),
                sum=float(sum(tokens)),
                min=float(min(tokens)),
                max=float(max(tokens)),
                bucket_counts=counts,
                explicit_bounds=TOKEN_BUCKETS,
                attributes=_attributes(
                    [
                        ("gen_ai.operation.name", "chat"),
                        ("gen_ai.provider.name", provider_name),
                        ("gen_ai.token.type", token_type),
                        ("gen_ai.request.model", model),
                        ("gen_ai.response.model", model),
                    ]
                ),
            )
        )
    metric = Metric(
        name=TOKEN_METRIC,
        description="Measures number of input and output tokens used",
        unit="{token}",
        histogram=Histogram(
            data_points=points,
            aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA,
        ),
    )
    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(
                resource=_resource(source),
                scope_metrics=[ScopeMetrics(scope=_scope(), metrics=[metric])],
            )
        ]
    )


class OtlpExporter:
    name = "otlp"

    def __init__(self, url: str) -> None:
        base = url.rstrip("/")
        for suffix in ("/v1/logs", "/v1/metrics"):
            base = base.removesuffix(suffix)
        self.base = base

    def requests(self, batch: Batch, source: dict[str, Any], now_ms: int) -> list[Request]:
        key = batch.batch_id
        out = [
            Request(
                "logs",
                f"{self.base}/v1/logs",
                logs_request(batch, source, now_ms).SerializeToString(),
                PROTOBUF,
                f"{key}-logs",
            )
        ]
        metrics = metrics_request(batch, source)
        if metrics is not None:
            out.append(
                Request(
                    "metrics",
                    f"{self.base}/v1/metrics",
                    metrics.SerializeToString(),
                    PROTOBUF,
                    f"{key}-metrics",
                )
            )
        return out

    def retryable(self, status: int) -> bool:
        return status in (429, 502, 503, 504)
