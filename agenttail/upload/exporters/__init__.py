"""Exporters turn a frozen batch into HTTP requests; the sender posts them (see base.py)."""

from __future__ import annotations

from agenttail.upload.exporters.base import Exporter
from agenttail.upload.exporters.http import HttpExporter


def make_exporter(name: str, url: str) -> Exporter:
    if name == "otlp":
        # protobuf is only imported by processes that export OTLP.
        from agenttail.upload.exporters.otlp import OtlpExporter

        return OtlpExporter(url)
    return HttpExporter(url)


__all__ = ["Exporter", "HttpExporter", "make_exporter"]
