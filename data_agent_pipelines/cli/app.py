"""The `data-agent` command's frame: the root group, the per-invocation context, JSON or readable output, and the
entry point that maps errors to the exit codes and one-line messages of the interface (docs/cli.md).

Exit status: 0 success, 1 the command ran but what it did failed (an import whose run failed), 2 bad usage or
bad input, with one line on stderr saying what to fix.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ..errors import Conflict, DataAgentError, InvalidInput, NotFound
from ..settings import Settings, get_settings

if TYPE_CHECKING:
    from ..catalog.store import Catalog

# The command modules import what only a command's body needs inside that body: `--help`, and commands that never
# open the catalog or run a job, must not pay for SQLAlchemy, Alembic, httpx or Dagster (docs/architecture.md).

EXIT_FAILED = 1
EXIT_USAGE = 2
# Fields whose CLI value is taken as plain text; the others are JSON (lists of tags/genres may be comma-separated).


class Context:
    """Per-invocation state: settings and a lazily opened catalog."""

    def __init__(self, settings: Settings, as_json: bool, verbose: bool = False):
        self.settings = settings
        self.as_json = as_json
        self.verbose = verbose
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from ..catalog.store import Catalog

            self._catalog = Catalog.open(self.settings)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()


def emit(ctx: Context, payload: Any, human: Callable[[Any], str]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(human(payload))


def command(group: click.Group, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A leaf command that takes `--json` and receives the invocation Context first."""

    def decorate(func: Callable[..., Any]) -> click.Command:
        @functools.wraps(func)
        def wrapper(*args: Any, as_json: bool, **options: Any) -> Any:
            root: Context = click.get_current_context().find_root().obj
            root.as_json = root.as_json or as_json
            return func(root, *args, **options)

        option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
        return group.command(name, **kwargs)(option(wrapper))

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--verbose", is_flag=True, help="Runs log every message in full on stderr, Dagster's and stack traces included."
)
@click.pass_context
def cli(ctx: click.Context, as_json: bool, verbose: bool) -> None:
    """Keep a video CMS catalog in step with feeds and online video platforms."""
    ctx.obj = Context(get_settings(), as_json, verbose)
    ctx.call_on_close(ctx.obj.close)


# -- output -----------------------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]], columns: list[str], empty: str) -> str:
    if not rows:
        return empty
    from tabulate import tabulate

    return tabulate([[cell(row.get(c)) for c in columns] for row in rows], headers=columns, tablefmt="simple")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def as_pairs(values: dict[str, Any]) -> str:
    from tabulate import tabulate

    return tabulate([[k, cell(v)] for k, v in values.items()], tablefmt="plain")


# -- entry point ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps errors to the contract's exit codes and one-line messages."""
    # Dagster warns about its own beta parameters when the definitions load; that is no news to a user. (Matched
    # by message: importing Dagster's warning classes would cost every command half a second.)
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="data-agent", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `data-agent` or `data-agent sources` alone asks what there is: the help, as `--help` prints it.
        click.echo(exc.ctx.get_help())
        code = 0
    except click.UsageError as exc:
        _fail(EXIT_USAGE, exc.format_message())
    except (InvalidInput, NotFound, Conflict) as exc:
        _fail(EXIT_USAGE, str(exc))
    except DataAgentError as exc:
        _fail(EXIT_FAILED, str(exc))
    except click.exceptions.Abort:
        _fail(EXIT_FAILED, "aborted")
    except click.ClickException as exc:
        _fail(EXIT_USAGE, exc.format_message())
    sys.exit(code if isinstance(code, int) else 0)


def _fail(code: int, message: str) -> None:
    click.echo(f"data-agent: error: {' '.join(message.split())}", err=True)
    sys.exit(code)
