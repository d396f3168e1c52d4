"""What a source kind declares about itself, beside its code: its name, what it reads, where by default, which
options and credentials it takes and which it cannot do without.

Each connector module holds one `SourceKind` as `SPEC`; `connectors.registry` collects them, and everything else
that needs a kind's facts (validation of a source's settings, `sources add --help`, the API schema, docs checks)
reads them from there, so a kind is described once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..schedule import parse_duration


@dataclass(frozen=True)
class Setting:
    """One `--option` or `--credential` of a kind.

    `either` names a group of settings of which one is enough (Kaltura takes an admin secret or a session);
    `check` refuses a malformed value with InvalidInput; `is_url` marks an address the importer calls with the
    source's credentials, held to the rules of the source's own URL.
    """

    key: str
    help: str
    required: bool = False
    either: str | None = None
    choices: tuple[str, ...] = ()  # the first is the default
    check: Callable[[str], object] | None = None
    is_url: bool = False

    def flag(self, flag: str) -> str:
        """How a user gives it: `--option site_id=… (the property ID)`."""
        return f"--{flag} {self.key}=… ({self.help})"


@dataclass(frozen=True, kw_only=True)
class SourceKind:
    """A source kind: everything a user and the rest of the package need to know about it besides its code.

    `modes` are other ways of reading the same kind, chosen by the value of the option `mode_option` (JW Player's
    public Delivery API playlists need no credentials and have no default URL): each is a SourceKind whose
    requirements replace this one's when the option has that value.
    """

    kind: str
    title: str  # the platform or format as a customer knows it: "JW Player"
    summary: str  # one line: what a source of this kind reads
    connector: Callable[[], object]  # makes the kind's `connectors.base.Connector`
    default_url: str | None = None
    # Whether a source of this kind may read a file of the local feed folder (a `file:///…` URL): true for the
    # kinds that read one document, which is the same bytes on disk as over HTTP.
    local_files: bool = False
    # What to check when the platform refuses this source's credentials (named, never shown).
    access_hint: str = ""
    options: tuple[Setting, ...] = ()
    credentials: tuple[Setting, ...] = ()
    mode_option: str | None = None
    modes: Mapping[str, SourceKind] = field(default_factory=dict)

    def mode(self, options: Mapping[str, str]) -> SourceKind:
        """The spec that applies to a source with these options (itself unless a mode is chosen)."""
        if self.mode_option is None:
            return self
        return self.modes.get(options.get(self.mode_option, ""), self)

    def all_options(self) -> dict[str, Setting]:
        """Every option this kind takes, in any of its modes, by key (the first declaration of a key wins)."""
        found: dict[str, Setting] = {}
        for spec in (self, *self.modes.values()):
            for option in spec.options:
                found.setdefault(option.key, option)
        return found

    def option_keys(self) -> tuple[str, ...]:
        """Every option this kind takes, in any of its modes."""
        return tuple(self.all_options())

    def url_options(self) -> tuple[str, ...]:
        """The options whose value is an address the importer calls."""
        return tuple(key for key, option in self.all_options().items() if option.is_url)

    def missing(self, options: Mapping[str, str], credentials: Mapping[str, str]) -> list[str]:
        """`--option key=… (what it is)` for each required setting not given (alternatives joined by "or")."""
        return _missing(self.options, options, "option") + _missing(self.credentials, credentials, "credential")

    def check(self, options: Mapping[str, str], credentials: Mapping[str, str]) -> None:
        """Refuse (InvalidInput) settings this kind cannot be imported with, naming each one that is missing."""
        known = self.all_options()
        for key, value in options.items():
            declared = known.get(key)
            if declared is None or not value:
                continue
            if declared.choices and value not in declared.choices:
                default, *others = declared.choices
                raise InvalidInput(
                    f"invalid --option {key}={value!r}: use {default} (default) or {' or '.join(others)}"
                )
            if declared.check is not None:
                declared.check(value)
        mode = self.mode(options)
        if missing := mode.missing(options, credentials):
            others = [
                f"; for {spec.summary} give --option {self.mode_option}={value} instead"
                for value, spec in self.modes.items()
                if spec is not mode
            ]
            raise InvalidInput(f"a {self.kind} source needs {', '.join(missing)}{''.join(others)}")


def _missing(declared: tuple[Setting, ...], given: Mapping[str, str], flag: str) -> list[str]:
    """`--flag key=… (help)` for each required setting not given; settings of an `either` group are one need."""
    missing: list[str] = []
    groups: dict[str, list[Setting]] = {}
    for setting in declared:
        if setting.either:
            groups.setdefault(setting.either, []).append(setting)
        elif setting.required and not given.get(setting.key):
            missing.append(setting.flag(flag))
    for group in groups.values():
        if not any(given.get(setting.key) for setting in group):
            missing.append(" or ".join(setting.flag(flag) for setting in group))
    return missing


# --- settings several kinds share -------------------------------------------------------------------------------

DEFAULT_TIMEOUT_SECONDS = 300.0


def _timeout(value: str) -> None:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not 0 < seconds <= 3600:
        raise InvalidInput(f"invalid --option timeout={value!r}: use a number of seconds from 1 to 3600")


TIMEOUT = Setting(
    "timeout", f"seconds a whole fetch may take, 1-3600 (default {DEFAULT_TIMEOUT_SECONDS:.0f})", check=_timeout
)
CONCURRENCY = Setting("concurrency", "calls in flight at once for per-item details, 1-8 (default 4)")
INCREMENTAL = Setting("incremental", "false reads everything every time instead of the changes since the last import")
FULL_SWEEP_EVERY = Setting(
    "full_sweep_every",
    "how often an incremental source reads everything, to see deletions (default 1d)",
    check=parse_duration,
)
