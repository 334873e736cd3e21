"""``agenttail server``: run the receiver, and manage its developers' tokens.

Imports nothing heavy at module level: the daemon's install has no server extra.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from agenttail.errors import EX_UNAVAILABLE, EX_USAGE, AgenttailError
from agenttail.paths import AppPaths

if TYPE_CHECKING:
    from agenttail.store.team import TeamStore

DEFAULT_LISTEN = "127.0.0.1:8787"
SERVER_DB = "server.db"


def default_database_url(paths: AppPaths | None = None) -> str:
    """The embedded default: a SQLite file in the server's state folder."""
    folder = (paths or AppPaths.resolve()).state_dir
    return f"sqlite:///{folder / SERVER_DB}"


@contextmanager
def team_store(url: str | None) -> Iterator[TeamStore]:
    from agenttail.store.team import open_team_store

    store = open_team_store(url or default_database_url())
    try:
        yield store
    finally:
        store.close()


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{text!r}: use HOST:PORT, e.g. 127.0.0.1:8787")
    return host.strip("[]") or "127.0.0.1", int(port)


database_option = click.option(
    "--database",
    "database",
    envvar="AGENTTAIL_SERVER_DATABASE",
    help="sqlite:///PATH or postgresql://… (default: a SQLite file in the state folder).",
)


@click.group(invoke_without_command=True)
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    envvar="AGENTTAIL_SERVER_LISTEN",
    help="HOST:PORT to serve on (0.0.0.0:8787 for other machines, behind TLS).",
)
@database_option
@click.pass_context
def server(ctx: click.Context, listen: str, database: str | None) -> None:
    """Receive every developer's uploads (POST /v1/batches) into one team store."""
    if ctx.invoked_subcommand is not None:
        return
    host, port = parse_listen(listen)
    try:
        import uvicorn

        from agenttail.server.app import create_app
    except ImportError:
        raise AgenttailError(
            "the server is not installed",
            "pip install 'agenttail[server]'",
            exit_code=EX_UNAVAILABLE,
        ) from None
    with team_store(database) as store:
        if not store.has_tokens():
            click.echo(
                "agenttail server: no token exists yet, so every upload is refused (401). "
                "Create one per developer: agenttail server token create NAME",
                err=True,
            )
        click.echo(f"agenttail server: listening on http://{host}:{port}/v1/batches", err=True)
        config = uvicorn.Config(
            create_app(store), host=host, port=port, log_level="warning", lifespan="off"
        )
        uvicorn.Server(config).run()


@server.group()
def token() -> None:
    """Bearer tokens, one per developer (stored hashed)."""


@token.command("create")
@click.argument("name")
@database_option
def token_create(name: str, database: str | None) -> None:
    """Print a new token for developer NAME (shown once)."""
    with team_store(database) as store:
        click.echo(store.create_token(name, int(time.time() * 1000)))


@token.command("list")
@database_option
def token_list(database: str | None) -> None:
    """Developers with tokens, and whether any is still valid."""
    with team_store(database) as store:
        for info in store.tokens():
            state = "revoked" if info.revoked else "active"
            created = time.strftime("%Y-%m-%d", time.gmtime(info.created_at / 1000))
            click.echo(f"{info.name}\t{state}\tsince {created}")


@token.command("revoke")
@click.argument("name")
@database_option
def token_revoke(name: str, database: str | None) -> None:
    """Revoke every token of developer NAME."""
    with team_store(database) as store:
        if not store.revoke_token(name, int(time.time() * 1000)):
            raise AgenttailError(f"no active token for {name!r}", exit_code=EX_USAGE)
        click.echo(f"revoked the tokens of {name}")


@server.command("unit")
@click.option("--listen", default="0.0.0.0:8787", show_default=True, help="HOST:PORT to serve on.")
@database_option
def unit(listen: str, database: str | None) -> None:
    """Print a systemd system unit that runs this server (write it to /etc/systemd/system/)."""
    from agenttail.service.base import template
    from agenttail.service.systemd import environment_line, quote_arg

    parse_listen(listen)
    program = (sys.executable, "-m", "agenttail")
    args = (*program, "server", "--listen", listen)
    env = environment_line("AGENTTAIL_SERVER_DATABASE", database) + "\n" if database else ""
    text = template("systemd/agenttail-server.service")
    text = text.replace("@EXEC_START@", " ".join(quote_arg(a) for a in args))
    text = text.replace("@PROGRAM@", " ".join(program))
    click.echo(text.replace("@ENVIRONMENT@\n", env), nl=False)
