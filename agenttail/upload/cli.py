"""``agenttail upload``: send waiting events once, then exit."""

from __future__ import annotations

import sys

import click

from agenttail.cli_support import echo_json, json_option, settings
from agenttail.clock import now_ms
from agenttail.errors import EX_TEMPFAIL
from agenttail.store import Store
from agenttail.upload.settings import upload_settings


@click.command()
@click.option("--retry-set-aside", is_flag=True, help="Send set-aside batches again first.")
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Give up after this many seconds; what is left waits for the next run.",
)
@json_option("Print the flush summary as JSON.")
def upload(retry_set_aside: bool, deadline: float, as_json: bool) -> None:
    """Send waiting events once, then exit (0: outbox empty, 75: some still waiting)."""
    paths, config = settings()
    upload_config = upload_settings(config)
    if upload_config is None:
        if as_json:
            echo_json({"configured": False, "reason": "no upload.url: events stay local"})
        else:
            click.echo("upload is not configured (no upload.url): events stay local")
        return
    from agenttail.logs import configure_logging
    from agenttail.upload.uploader import Uploader

    configure_logging("warning")
    uploader = Uploader(paths.ensure().database, upload_config)
    try:
        report = uploader.flush(deadline, retry_set_aside=retry_set_aside)
    finally:
        uploader.close()
    with Store(paths.database, readonly=True) as store:
        from agenttail.upload.outbox import upload_status

        status = upload_status(store, now_ms(), upload_config.max_pending_events)
    summary = {
        "sent_batches": report.sent_batches,
        "sent_events": report.sent_events,
        "retries": report.retries,
        "set_aside_now": report.set_aside,
        "dropped": report.dropped,
        "drained": report.drained,
        "stopped": report.stopped,
        "pending_events": status["pending_events"],
        "set_aside_batches": status["set_aside_batches"],
        "last_error": status["last_error"],
    }
    if as_json:
        echo_json(summary)
    else:
        click.echo(
            f"sent {report.sent_events} events in {report.sent_batches} batches; "
            f"{status['pending_events']} waiting, {status['set_aside_batches']} batches set aside"
            + (f"; stopped: {report.stopped}" if report.stopped else "")
        )
    if not report.drained:
        sys.exit(EX_TEMPFAIL)
