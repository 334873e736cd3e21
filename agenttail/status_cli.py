"""``agenttail status``: events, lag and errors per agent, and the upload pipeline."""

from __future__ import annotations

import click

from agenttail.cli_support import echo_json, json_option, settings
from agenttail.status import gap_lines, status_data
from agenttail.store import open_readonly


@click.command()
@json_option()
@click.option("--streams", "all_streams", is_flag=True, help="List every stream, not per agent.")
def status(as_json: bool, all_streams: bool) -> None:
    """Events, lag and errors per agent (``--streams``: per stream), and the upload pipeline."""
    paths, _config = settings(strict=False)
    store = open_readonly(paths)
    try:
        data = status_data(store)
    finally:
        if store is not None:
            store.close()
    data["database"] = str(paths.database)
    from agenttail.status import daemon_section

    data["daemon"] = daemon_section(paths)
    if as_json:
        echo_json(data)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from agenttail.display import compact_bytes, unique_prefixes

    console = Console()
    console.print(
        f"[bold]{data['events_total']:,}[/] events from [bold]{data['streams_total']:,}[/]"
        f" streams ({data['streams_failing']} failing, {data['bad_lines_total']} bad lines"
        f" skipped, {compact_bytes(data['lag_bytes_total'])} behind)"
    )
    console.print(f"database: {data['database']}", overflow="fold")
    for line in gap_lines(data["gaps"]):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for condition in data["daemon"]["conditions"]:
        console.print(f"[bold red]daemon: {condition['message']}[/]", overflow="fold")
    if data["daemon"]["first_load"] is not None:
        from agenttail.status import first_load_line

        console.print(f"daemon: {first_load_line(data['daemon']['first_load'])}", overflow="fold")
    upload = data["upload"]
    if not upload.get("configured"):
        console.print("upload: not configured (events stay local)")
    else:
        console.print(
            f"upload ({upload.get('exporter')}): {upload.get('pending_events', 0)} pending,"
            f" {upload.get('sent_events', 0)} sent, {upload.get('set_aside_batches', 0)} batches"
            f" set aside, pressure {upload.get('queue_pressure')},"
            f" last error: {upload.get('last_error') or 'none'}"
        )
    agents = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    agents.add_column("agent", no_wrap=True)
    for header in ("streams", "sessions", "events", "behind", "failing"):
        agents.add_column(header, justify="right", no_wrap=True)
    agents.add_column("last activity", no_wrap=True)
    for agent in data["agents"]:
        agents.add_row(
            agent["agent"],
            f"{agent['streams']:,}",
            f"{agent['sessions']:,}",
            f"{agent['events']:,}",
            compact_bytes(agent["lag_bytes"]),
            f"{agent['streams_failing']:,}",
            _local_time(agent["last_event_at"]),
        )
    console.print(agents)
    failing = [s for s in data["streams"] if s["current_error"]]
    shown = data["streams"] if all_streams else failing
    if not shown:
        return
    session = unique_prefixes(s["session_id"] for s in data["streams"])  # unique among all
    title = None if all_streams else f"{len(failing)} streams failing now"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title)
    table.add_column("agent", no_wrap=True)
    table.add_column("session", no_wrap=True)
    table.add_column("file", no_wrap=True)
    for header in ("events", "behind", "errors"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("error now", overflow="fold")
    for item in shown:
        short = session[item["session_id"]]
        name = item["path"].rsplit("/", 1)[-1].replace(item["session_id"], short + "…")
        table.add_row(
            item["agent"],
            short,
            name,
            f"{item['events_total']:,}",
            "" if item["lag_bytes"] is None else compact_bytes(item["lag_bytes"]),
            str(item["error_count"]),
            item["current_error"] or "",
        )
    console.print(table)
    if not all_streams:
        console.print("`agenttail status --streams` lists every stream; `--json` has full paths")


def _local_time(iso: str | None) -> str:
    if iso is None:
        return "never"
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
