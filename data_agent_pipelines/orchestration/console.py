"""The console logger of runs started from the CLI: Dagster's lines, each kept to one line.

Dagster's own console logger prints a failed step with its stack trace, some forty lines on a terminal whose
user already has the import's result (and its error) on stdout. This one prints the first line of every
message and, for a failure, the error's own message after it. The run's event log keeps everything, stack
traces included, for the UI.
"""

from __future__ import annotations

import logging
import re
import sys

from dagster import Field, InitLoggerContext, logger

_FORMAT = "%(asctime)s - dagster - %(levelname)s - %(message)s"


_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*): (\S.*)$")


def without_class(message: str) -> str:
    """An error message without the exception's class name in front ("pkg.CatalogFull: the disk…" -> "the disk…")."""
    match = _ERROR_LINE.match(message.strip())
    return match.group(2) if match else message.strip()


def one_line(message: str) -> str:
    """`message` on one line: its first line, plus the innermost error Dagster reports on the lines after it."""
    first, _, rest = message.partition("\n")
    # After a blank line Dagster writes "pkg.Error: message", the stack trace, then each cause the same way: the
    # last such line is the root cause, which is what a person can act on.
    errors = [match.group(2) for line in rest.splitlines() if (match := _ERROR_LINE.match(line))]
    return f"{first} {errors[-1]}" if errors else first


class OneLineFormatter(logging.Formatter):
    """Formats a record as Dagster's console does, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        return self.formatMessage(record)


@logger(
    config_schema={"log_level": Field(str, is_required=False, default_value="INFO", description="The threshold.")},
    description="Dagster's console lines, one line each (stack traces stay in the run's event log).",
)
def one_line_console(init_context: InitLoggerContext) -> logging.Logger:
    """A logger printing to stderr, one line per message."""
    run_logger = logging.Logger("data_agent.run", level=init_context.logger_config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
    run_logger.addHandler(handler)
    return run_logger
