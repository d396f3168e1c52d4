"""Request bodies of the API. Fields mirror the CLI options; unknown fields are refused (422, field named)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..connectors.registry import kind_names, source_kinds
from ..export_settings import ExportTargetChanges
from ..source_settings import SourceChanges
from ..user_input import parse_pairs

# A JSON null for these fields means "remove" on update (the CLI's "none" and "''"), not "not given".
_CLEARABLE = ("sign_streams",)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _pairs(values: dict[str, str], what: str) -> dict[str, str]:
    # The CLI's key rules and messages, so that a key the CLI refuses is refused here the same way.
    return parse_pairs([f"{key}={value}" for key, value in values.items()], what)


# The kinds and their settings, from the connectors' specs: the OpenAPI document lists them as the CLI's help does.
_KIND: dict[str, Any] = {
    "max_length": 40,
    "description": "What the source reads: " + "; ".join(f"{s.kind}: {s.summary}" for s in source_kinds().values()),
    "json_schema_extra": {"enum": list(kind_names())},
}
_OPTIONS = "Connector and signing settings. " + "; ".join(
    f"{spec.kind}: {', '.join(spec.option_keys())}" for spec in source_kinds().values()
)
_CREDENTIALS = "Secrets, stored encrypted and never returned; an empty value removes. " + "; ".join(
    f"{spec.kind}: {', '.join(c.key for c in spec.credentials)}" for spec in source_kinds().values() if spec.credentials
)


class SourceSettings(_Body):
    """A source's settings, as `sources add` and `sources edit` take them."""

    name: str | None = Field(None, max_length=200, description="A name, unique in the service.")
    kind: str | None = Field(None, **_KIND)
    url: str | None = Field(
        None,
        max_length=4096,
        description=(
            "Where the source reads from: http or https, or for mrss and backstage-json a file:/// URL in the"
            " local feed folder."
        ),
    )
    every: str | None = Field(None, max_length=40, description="Interval like 5m, 1h, 1d (default 1h).")
    cron: str | None = Field(None, max_length=200, description="Cron expression (five fields, UTC).")
    truth: str | None = Field(None, max_length=40, description="importer, create-only or update-unless-edited.")
    on_missing: str | None = Field(None, max_length=20, description="keep, unpublish or delete.")
    max_removal_fraction: float | None = Field(None, description="Largest share of assets one import may remove.")
    max_failed_fraction: float | None = Field(
        None, description="Share of an import's items that may fail before the source's health check warns (0.1)."
    )
    asset_type: str | None = Field(None, max_length=40, description="Type of items that do not say (movie).")
    sign_streams: str | None = Field(
        None, max_length=40, description="cloudfront, akamai or nginx-secure-link; null on update stops signing."
    )
    credentials: dict[str, str] = Field(default_factory=dict, description=_CREDENTIALS)
    options: dict[str, str] = Field(default_factory=dict, description=_OPTIONS)
    pause_after: int | None = Field(
        None, ge=0, le=10_000, description="Failed imports in a row that pause the source (default 10; 0: never)."
    )

    def changes(self) -> SourceChanges:
        """The settings as the catalog's validation takes them."""
        values: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("name", "kind", "url", "every", "cron", "truth", "on_missing", "asset_type", "sign_streams")
        }
        for name in _CLEARABLE:
            if name in self.model_fields_set and values[name] is None:
                values[name] = "none"
        return SourceChanges(
            **values,
            max_removal_fraction=self.max_removal_fraction,
            max_failed_fraction=self.max_failed_fraction,
            credentials=_pairs(self.credentials, "credentials"),
            options=_pairs(self.options, "options"),
            pause_after=self.pause_after,
        )


class SourceCreate(SourceSettings):
    name: str = Field(..., max_length=200, description="A name, unique in the service.")
    kind: str = Field(..., **_KIND)


class SourceUpdate(SourceSettings):
    enabled: bool | None = Field(None, description="false stops scheduled imports; true resumes them.")


class ExportTargetSettings(_Body):
    """An export target's settings, as `exports add` and `exports edit` take them."""

    url: str | None = Field(None, max_length=2048, description="Where the export goes: s3://BUCKET/PREFIX.")
    format: str | None = Field(None, max_length=40, description="ndjson, json, csv, parquet, mrss, backstage-json.")
    every: str | None = Field(None, max_length=40, description="Interval like 1h, 1d (default 1d).")
    cron: str | None = Field(None, max_length=200, description="Cron expression (five fields, UTC).")
    source_id: str | None = Field(None, max_length=40, description="Only the assets of this source ('' for all).")
    asset_type: str | None = Field(None, max_length=40, description="Only assets of this type ('' for all).")
    options: dict[str, str] = Field(default_factory=dict, description="endpoint_url, region, role_arn, …")
    credentials: dict[str, str] = Field(
        default_factory=dict, description="The bucket's own AWS keys, stored encrypted and never returned."
    )

    def changes(self) -> ExportTargetChanges:
        return ExportTargetChanges(
            url=self.url,
            format=self.format,
            every=self.every,
            cron=self.cron,
            source_id=self.source_id,
            asset_type=self.asset_type,
            options=_pairs(self.options, "options"),
            credentials=_pairs(self.credentials, "credentials"),
        )


class ExportTargetCreate(ExportTargetSettings):
    url: str = Field(..., max_length=2048, description="Where the export goes: s3://BUCKET/PREFIX.")
    format: str = Field(..., max_length=40, description="ndjson, json, csv, parquet, mrss or backstage-json.")


class ExportTargetUpdate(ExportTargetSettings):
    enabled: bool | None = Field(None, description="false stops scheduled exports; true resumes them.")


class WebhookCreate(_Body):
    """A webhook, as `services notify` takes it."""

    url: str = Field(..., max_length=4096, description="Where the events are POSTed (http or https).")
    events: list[str] | None = Field(
        None,
        max_length=4,
        description="failed, partial, recovered, paused (default: failed, recovered, paused).",
    )
