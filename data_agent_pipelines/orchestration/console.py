"""The console logger of runs started from the CLI: Dagster's lines, each kept to one line.

Dagster's own console logger prints a failed step with its stack trace, some forty lines on a terminal whose
user already has the import's result (and its error) on stdout. This one prints the first line of every
message and, for a failure, the error's own message after it. The run's event log keeps everything, stack
traces included, for the UI.
"""

from __future__ import annotations

import logging
import sys

from dagster import Field, InitLoggerContext, logger

_FORMAT = "%(asctime)s - dagster - %(levelname)s - %(message)s"


def one_line(message: str) -> str:
    """`message` on one line: its first line, plus the error Dagster reports on the lines after it."""
    first, _, rest = message.partition("\n")
    for line in rest.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("Stack Trace"):
            break
        # "dagster._core.definitions.events.Failure: import of source … failed: …": the text after the class
        name, sep, text = line.partition(": ")
        return f"{first} {text if sep and ' ' not in name else line}"
    return first


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
