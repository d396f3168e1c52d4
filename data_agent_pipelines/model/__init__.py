"""Plain dataclasses of the domain: what a connector produces, what an import reports, what a service configures.

Nothing here knows about storage, HTTP or Dagster. The package's modules, by role: `assets` (asset values and
their JSON form), `encoding` (canonical JSON and the hashes the catalog stores), `imports` (what an import writes,
knows and reports for each item), `results` (the ImportResult and the ExportResult), `sources` and
`export_targets` (what a service configures). Import names from the package.
"""

from .assets import (
    ASSET_FIELDS,
    ASSET_TYPES,
    Asset,
    Availability,
    Credit,
    Edition,
    Geoblock,
    Image,
    Rating,
    Stream,
    Subtitle,
    asset_from_dict,
    asset_to_dict,
    field_from_json,
    field_to_json,
    isoformat,
    parse_instant,
    whole_number,
)
from .encoding import (
    FIELD_HASH_LENGTH,
    JSON_FIELDS,
    EncodedAsset,
    canonical_json,
    columns_to_json,
    encode_asset,
    field_hash_of,
)
from .export_targets import ExportTarget, parse_s3_url
from .imports import (
    AssetWrite,
    ExistingAsset,
    ImportStatus,
    ItemFailure,
    ItemOutcome,
    KnownAsset,
    Outcome,
    empty_counts,
)
from .results import ExportResult, HeldBack, ImportResult
from .sources import DEFAULT_PAUSE_AFTER, NOTIFICATION_EVENTS, REDACTED, RunRecorded, Source

__all__ = [
    "ASSET_FIELDS",
    "ASSET_TYPES",
    "DEFAULT_PAUSE_AFTER",
    "FIELD_HASH_LENGTH",
    "JSON_FIELDS",
    "NOTIFICATION_EVENTS",
    "REDACTED",
    "Asset",
    "AssetWrite",
    "Availability",
    "Credit",
    "Edition",
    "EncodedAsset",
    "ExistingAsset",
    "ExportResult",
    "ExportTarget",
    "Geoblock",
    "HeldBack",
    "Image",
    "ImportResult",
    "ImportStatus",
    "ItemFailure",
    "ItemOutcome",
    "KnownAsset",
    "Outcome",
    "Rating",
    "RunRecorded",
    "Source",
    "Stream",
    "Subtitle",
    "asset_from_dict",
    "asset_to_dict",
    "canonical_json",
    "columns_to_json",
    "empty_counts",
    "encode_asset",
    "field_from_json",
    "field_hash_of",
    "field_to_json",
    "isoformat",
    "parse_instant",
    "parse_s3_url",
    "whole_number",
]
