"""Exporters turn a frozen batch into HTTP requests; the sender posts them (see base.py)."""

from __future__ import annotations

from agenttail.upload.exporters.base import Exporter
from agenttail.upload.exporters.http import HttpExporter
from agenttail.upload.exporters.otlp import OtlpExporter


def make_exporter(name: str, url: str) -> Exporter:
    if name == "otlp":
        return OtlpExporter(url)
    return HttpExporter(url)


__all__ = ["Exporter", "HttpExporter", "OtlpExporter", "make_exporter"]
