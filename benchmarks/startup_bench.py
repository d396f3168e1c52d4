"""Start-up benchmark (issue 16): how long a `data-agent` command that runs no job takes, as a whole process.

Prints, as medians of `--runs` whole processes, the wall time and the CPU time (user + system, which other
processes on a shared machine disturb less than wall time) of:

- `python -c pass`: the interpreter alone, the baseline every other figure is a ratio to;
- `python -c "import sqlalchemy"`: the floor of any command that opens the catalog through SQLAlchemy;
- `data-agent --help`, `sources list`, `services list`, `results list`, `results show ID`, `exports list` and
  `assets list --service demo`, on an embedded (SQLite) catalog in a temporary DATA_AGENT_HOME seeded by
  `data-agent demo` (one service, one source, one import of 12 assets) plus two more sources of a second service.

The commands run in rounds (each command once per round) so that a change of load on the machine touches them
all alike. The package measured is a copy (without `__pycache__`) of the one this script belongs to, or of
`--package`, so the benchmark never writes bytecode into a checkout.

Bytecode: an installed package has its modules compiled once, at install or on first use. The environment this
project is developed in sets PYTHONDONTWRITEBYTECODE=1, which makes every process compile the package's modules
again (and only ours: the interpreter's and the libraries' are compiled already). The first figures are therefore
taken as an installed user's process runs: with PYTHONDONTWRITEBYTECODE removed from the children's environment,
after one warm-up run of every command has written the bytecode. `--with-dont-write-bytecode` also prints the
figures with the variable set, on a fresh copy of the package (every process compiles our modules).

`--database-url` puts the catalog at that URL instead (an empty database: the demo seeds it). Asserts nothing;
`--json` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "data_agent_pipelines"


def copy_package(source: Path, into: Path) -> Path:
    """A copy of the package at `source` in `into` (the folder to put on PYTHONPATH), without compiled files."""
    shutil.copytree(source, into / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


def child_environment(path: Path, home: Path, database_url: str | None, *, write_bytecode: bool) -> dict[str, str]:
    """The children's environment: the package copy first on the path, a home of their own, no other settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_AGENT_") and k != "DAGSTER_HOME"}
    env["PYTHONPATH"] = str(path)
    env["DATA_AGENT_HOME"] = str(home)
    if database_url:
        env["DATA_AGENT_DATABASE_URL"] = database_url
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def cli_prefix() -> tuple[list[str], str]:
    """How to start `data-agent`: its console script next to this interpreter, as a user does, else `-m`."""
    script = Path(sys.executable).with_name("data-agent")
    if script.is_file():
        return [str(script)], f"{script} (the console script)"
    return ["-m", f"{PACKAGE}.cli"], f"python -m {PACKAGE}.cli"


def run(args: Sequence[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """One whole process: its wall time, its CPU time (user + system) and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def checked(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run `args` once and stop the benchmark, saying why, if it failed."""
    done = run(args, env)[2]
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return done


def seed(cli: list[str], env: dict[str, str]) -> str:
    """Seed the catalog (the demo, two more sources); return the id of the demo's import result."""
    demo = json.loads(checked([*cli, "--json", "demo"], env).stdout)
    checked([*cli, "services", "add", "acme"], env)
    for name in ("news", "sport"):
        url = f"https://feeds.example.com/{name}.xml"
        checked([*cli, "sources", "add", "--service", "acme", "--name", name, "--kind", "mrss", "--url", url], env)
    return str(demo["id"])


def measure(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, dict[str, float]]:
    """Medians of `runs` rounds, each running every command once; ratios to the first command's medians."""
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, args in commands.items():
            wall, cpu, done = run(args, env)
            if done.returncode != 0:
                sys.exit(f"{label} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
            walls[label].append(wall)
            cpus[label].append(cpu)
    base = next(iter(commands))
    base_wall, base_cpu = statistics.median(walls[base]), statistics.median(cpus[base])
    figures = {}
    for label in commands:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        figures[label] = {
            "wall_seconds": round(wall, 3),
            "wall_vs_python": round(wall / base_wall, 2),
            "cpu_seconds": round(cpu, 3),
            "cpu_vs_python": round(cpu / base_cpu, 2),
        }
    return figures


def print_figures(title: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'command':<40} {'wall s':>8} {'x pass':>7} {'cpu s':>8} {'x pass':>7}")
    for label, row in figures.items():
        print(
            f"  {label:<40} {row['wall_seconds']:>8.3f} {row['wall_vs_python']:>7.2f}"
            f" {row['cpu_seconds']:>8.3f} {row['cpu_vs_python']:>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="Rounds (whole processes per command); medians.")
    parser.add_argument("--package", type=Path, default=ROOT / PACKAGE, help="The package to measure (a copy).")
    parser.add_argument("--database-url", help="An empty catalog database to use instead of the SQLite default.")
    parser.add_argument(
        "--with-dont-write-bytecode", action="store_true", help="Also measure with PYTHONDONTWRITEBYTECODE=1."
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")
    args = parser.parse_args()

    cli, cli_text = cli_prefix()
    report: dict[str, Any] = {"package": str(args.package.resolve()), "cli": cli_text, "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="startup_bench_") as scratch:
        work = Path(scratch)
        home = work / "home"
        cached = child_environment(
            copy_package(args.package, work / "cached"), home, args.database_url, write_bytecode=True
        )
        result_id = seed(cli, cached)
        commands = {
            "python -c pass": ["-c", "pass"],
            'python -c "import sqlalchemy"': ["-c", "import sqlalchemy"],
            "data-agent --help": [*cli, "--help"],
            "data-agent sources list": [*cli, "sources", "list"],
            "data-agent services list": [*cli, "services", "list"],
            "data-agent results list": [*cli, "results", "list"],
            "data-agent results show ID": [*cli, "results", "show", result_id],
            "data-agent exports list": [*cli, "exports", "list"],
            "data-agent assets list --service demo": [*cli, "assets", "list", "--service", "demo"],
        }
        for command in commands.values():  # the warm-up: writes the bytecode an installed package would have
            checked(command, cached)
        report["bytecode_cached"] = measure(commands, cached, args.runs)
        if args.with_dont_write_bytecode:
            uncached = child_environment(
                copy_package(args.package, work / "uncached"), home, args.database_url, write_bytecode=False
            )
            report["dont_write_bytecode"] = measure(commands, uncached, args.runs)

    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"package: {report['package']}\ndata-agent: {cli_text}\nmedians of {args.runs} rounds")
    print_figures(
        "bytecode cached, as an installed package runs (PYTHONDONTWRITEBYTECODE dropped for the children, after"
        " one warm-up run of each command):",
        report["bytecode_cached"],
    )
    if "dont_write_bytecode" in report:
        print_figures(
            "PYTHONDONTWRITEBYTECODE=1, as this environment sets it (every process compiles the package's modules):",
            report["dont_write_bytecode"],
        )


if __name__ == "__main__":
    main()
