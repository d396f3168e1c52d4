"""The console logger of runs started from the CLI: the ops' progress, each message on one line.

Dagster's own console logger prints a failed step with its stack trace, then every step it skipped and the run's
failure, each repeating the error: some fifty lines on a terminal whose user gets the import's result (and its
error) from the command itself. This one prints the first line of each message of the ops (progress and
warnings) and leaves errors to the command, which says them once. With `verbose` it prints every message in
full, stack traces included. The run's event log keeps everything either way, for the UI.
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


class ProgressOnly(logging.Filter):
    """Lets the ops' own progress and warnings through; errors are the command's to say, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


class OneLineFormatter(logging.Formatter):
    """Formats a record as Dagster's console does, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        return self.formatMessage(record)


@logger(
    config_schema={
        "log_level": Field(str, is_required=False, default_value="INFO", description="The threshold."),
        "verbose": Field(
            bool, is_required=False, default_value=False, description="Every message in full, stack traces included."
        ),
    },
    description="The ops' progress on stderr, one line each (errors and stack traces stay in the run's event log).",
)
def one_line_console(init_context: InitLoggerContext) -> logging.Logger:
    """A logger printing to stderr: one line per progress message, or everything in full when verbose."""
    run_logger = logging.Logger("data_agent.run", level=init_context.logger_config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    if init_context.logger_config["verbose"]:
        handler.setFormatter(logging.Formatter(_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
    else:
        handler.setFormatter(OneLineFormatter(_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
        handler.addFilter(ProgressOnly())
    run_logger.addHandler(handler)
    return run_logger
