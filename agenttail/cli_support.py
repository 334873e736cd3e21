"""The CLI edge every command shares: settings, ``--json``, and errors turned into messages.

An ``AgenttailError`` raised anywhere below becomes one line on stderr (or an
``{"error": {...}}`` object on stdout when ``--json`` was given) and its documented exit code.
Any other exception is a bug: its traceback goes to the log file, the terminal gets a summary,
and the exit code is 70.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import click
import orjson

from agenttail.config import Config, load_config
from agenttail.errors import EX_INTERRUPTED, EX_SOFTWARE, AgenttailError
from agenttail.paths import AppPaths

F = TypeVar("F", bound=Callable[..., Any])
_JSON_FLAG = "agenttail.json"


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_JSON_FLAG] = True
    return value


def json_option(help_text: str = "Print JSON.") -> Callable[[F], F]:
    """``--json``, parsed before anything else so that even a usage error is printed as JSON."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        callback=_remember_json,
        help=help_text,
    )


def wants_json(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(_JSON_FLAG)) or "--json" in sys.argv[1:]


def json_bytes(data: Any) -> bytes:
    """The JSON every ``--json`` prints (and the dashboard's endpoints serve)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str)


def echo_json(data: Any) -> None:
    click.echo(json_bytes(data).decode())


def settings(*, strict: bool = True) -> tuple[AppPaths, Config]:
    """Paths and configuration. Commands that only read pass ``strict=False``: a bad key is
    a warning and its default applies, so a typo never locks a user out of their reports."""
    paths = AppPaths.resolve()
    config = load_config(paths, strict=strict)
    for problem in config.problems:
        click.echo(
            f"agenttail: warning: {problem.label}: {problem} (ignored here; `agenttail run` "
            "refuses to start "
            "until it is fixed)",
            err=True,
        )
    return paths, config


def fail(ctx: click.Context, error: AgenttailError) -> NoReturn:
    if wants_json(ctx):
        echo_json({"error": error.to_dict()})
    else:
        label = f"{error.label}: " if error.label else ""
        click.echo(f"agenttail: {label}{error}", err=True)
    sys.exit(error.exit_code)


def _internal_error(ctx: click.Context, exc: Exception) -> NoReturn:
    from agenttail.logs import log_internal_error

    log_file = AppPaths.resolve().log_file
    command = ctx.invoked_subcommand or ctx.info_name or "agenttail"
    logged = log_internal_error(log_file, command)
    summary = f"internal error in `agenttail {command}`: {type(exc).__name__}: {exc}"
    where = f"its traceback is in {log_file}" if logged else "the log file is not writable"
    if wants_json(ctx):
        echo_json(
            {
                "error": {
                    "kind": "internal",
                    "message": summary,
                    "hint": f"{where}; please report it",
                    "exit_code": EX_SOFTWARE,
                }
            }
        )
    else:
        click.echo(f"agenttail: {summary} ({where}; please report it)", err=True)
    if not logged:
        import traceback

        traceback.print_exc()  # the only copy left: better on the terminal than lost
    sys.exit(EX_SOFTWARE)


class AgenttailGroup(click.Group):
    """A click group whose commands' failures reach the user as messages, never tracebacks.

    Commands named in ``lazy`` (name -> ``"module:attribute"``) are imported only when
    looked up: when they run, or when ``--help`` lists them.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgenttailError as exc:
            fail(ctx, exc)
        except sqlite3.Error as exc:
            from agenttail.store import store_problem

            fail(ctx, store_problem(exc, AppPaths.resolve().database))
        except click.ClickException as exc:
            if not wants_json(ctx):
                raise
            error = {"kind": "usage", "message": exc.format_message(), "hint": None}
            echo_json({"error": {**error, "exit_code": exc.exit_code}})
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C: the shell's code, not click's "Aborted!" and 1
            sys.exit(EX_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the edge: a bug becomes a logged summary
            _internal_error(ctx, exc)
