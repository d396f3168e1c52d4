"""The `exports` asset and the `export_service` job that materializes it, one run per partition (= target id).

The asset is executable: Dagster knows from the start of a run which `exports` partition it is for, so an export
that fails is shown failed on the asset (partitions, events) as on the job. The heartbeat sensor schedules
exports like imports (`heartbeat.TargetExports`).

No `from __future__ import annotations` here: Dagster reads the op annotations at definition time.
"""

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from dagster import (
    AssetExecutionContext,
    AssetKey,
    ConfigurableResource,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
    in_process_executor,
)
from pydantic import Field

from ..catalog.export_targets import DueTarget
from ..export.run import run_export
from ..export.s3 import DEFAULT_PART_SIZE, S3WriteError
from ..export_settings import platform_external_id
from ..model import ExportResult, ExportTarget
from .conventions import OWNERS
from .resources import CatalogResource
from .run_queue import tag_run

EXPORTS = AssetKey("exports")
EXPORTS_PARTITIONS_NAME = "exports"
EXPORT_JOB_NAME = "export_service"
exports_partitions = DynamicPartitionsDefinition(name=EXPORTS_PARTITIONS_NAME)


class ExportStorage(ConfigurableResource):
    """S3 for exports. Its own settings (region, endpoint, keys, or the default AWS chain when unset) reach the
    platform's buckets; a target with keys or a role to assume reaches the customer's bucket with those instead.

    Its settings are those of dagster-aws's `S3Resource` (same names, defaults and meaning), which makes its
    clients; it is not a subclass of it because importing dagster-aws loads boto3 and much of Dagster's test
    utilities (~0.3 s or more), which every process loading these definitions would pay, an import answered by
    304 included. dagster-aws and boto3 are imported when a client is first made, by an export.
    """

    use_unsigned_session: bool = Field(default=False, description="Specifies whether to use an unsigned S3 session.")
    region_name: str | None = Field(default=None, description="Specifies a custom region for the S3 session.")
    endpoint_url: str | None = Field(default=None, description="Specifies a custom endpoint for the S3 session.")
    max_attempts: int = Field(
        default=5,
        description=(
            "This provides Boto3's retry handler with a value of maximum retry attempts, where the initial call"
            " counts toward the max_attempts value that you provide."
        ),
    )
    profile_name: str | None = Field(default=None, description="Specifies a profile to connect that session.")
    use_ssl: bool = Field(default=True, description="Whether or not to use SSL. By default, SSL is used.")
    verify: bool | None = Field(
        default=None,
        description="Whether or not to verify SSL certificates. By default SSL certificates are verified.",
    )
    aws_access_key_id: str | None = Field(
        default=None, description="AWS access key ID to use when creating the boto3 session."
    )
    aws_secret_access_key: str | None = Field(
        default=None, description="AWS secret access key to use when creating the boto3 session."
    )
    aws_session_token: str | None = Field(
        default=None, description="AWS session token to use when creating the boto3 session."
    )
    part_size_bytes: int = Field(
        default=DEFAULT_PART_SIZE, description="Size of multipart upload parts (S3's minimum is 5 MiB)."
    )

    def get_client(self) -> Any:
        """The platform's S3 client, made from these settings by dagster-aws's `S3Resource`."""
        return _s3_client(
            use_unsigned_session=self.use_unsigned_session,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            max_attempts=self.max_attempts,
            profile_name=self.profile_name,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
        )

    def client_for(self, target: ExportTarget) -> Any:
        """The S3 client of `target`: the platform's, the customer's keys, or a role assumed for it."""
        if not target.uses_own_credentials:
            return self.get_client()
        region = target.options.get("region") or self.region_name
        endpoint = target.options.get("endpoint_url") or self.endpoint_url
        keys = {
            "aws_access_key_id": target.credentials.get("aws_access_key_id"),
            "aws_secret_access_key": target.credentials.get("aws_secret_access_key"),
            "aws_session_token": target.credentials.get("aws_session_token"),
        }
        role_arn = target.options.get("role_arn")
        if role_arn:
            keys = self._assume(target, role_arn, region, keys)
        return _s3_client(
            region_name=region,
            endpoint_url=endpoint,
            max_attempts=self.max_attempts,
            use_ssl=self.use_ssl,
            verify=self.verify,
            **keys,
        )

    def _assume(
        self, target: ExportTarget, role_arn: str, region: str | None, keys: dict[str, str | None]
    ) -> dict[str, str | None]:
        """Temporary keys of the customer's role, asked for with the target's keys if it has them, else ours."""
        own_keys = bool(keys["aws_access_key_id"])
        if not own_keys:
            keys = {
                "aws_access_key_id": self.aws_access_key_id,
                "aws_secret_access_key": self.aws_secret_access_key,
                "aws_session_token": self.aws_session_token,
            }
        # The platform's keys only ever go to the platform's own endpoint.
        sts_endpoint = target.options.get("endpoint_url") if own_keys else self.endpoint_url
        import boto3  # only an export assuming a role needs it (see the class docstring)

        sts = boto3.session.Session(profile_name=None if own_keys else self.profile_name).client(
            "sts", region_name=region, endpoint_url=sts_endpoint, **keys
        )
        request: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": f"data-agent-export-{target.id}"[:64]}
        # The platform's keys always say which service they act for, so a tenant cannot borrow another
        # tenant's role; with the customer's own keys, the customer's external id.
        external_id = target.options.get("role_external_id") if own_keys else platform_external_id(target.service)
        if external_id:
            request["ExternalId"] = external_id
        try:
            credentials = sts.assume_role(**request)["Credentials"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code") or "error"
            raise S3WriteError(
                f"could not assume role {role_arn} ({code}): check that its trust policy lets the platform assume it"
                " with the expected external id"
            ) from exc
        except BotoCoreError as exc:
            raise S3WriteError(f"could not assume role {role_arn}: {exc}") from exc
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }


def _s3_client(**settings: Any) -> Any:
    """An S3 client made by dagster-aws's `S3Resource` from `settings` (its fields)."""
    from dagster_aws.s3 import S3Resource  # imported by an export only (see ExportStorage)

    return S3Resource(**settings).get_client()


@asset(
    key=EXPORTS,
    partitions_def=exports_partitions,
    description=(
        "A service's catalog written to S3, one partition per export target: each materialization is one export,"
        " with its count, bytes, object keys and manifest key; a failed export marks its partition failed."
    ),
    group_name="exports",
    kinds={"s3"},
    owners=OWNERS,
    tags={"data_agent/direction": "export"},
)
def exports(
    context: AssetExecutionContext, catalog: CatalogResource, export_storage: ExportStorage
) -> MaterializeResult:
    """Export the target's assets to S3: data object under a new key, then the manifest."""
    began = time.monotonic()
    result = run_export(
        catalog.catalog,
        context.partition_key,
        export_storage.client_for,
        run_id=context.run.run_id,
        part_size=export_storage.part_size_bytes,
    )
    # A run started from the launchpad, the asset page or a backfill was created with its partition key alone: it
    # gets the tags every other export run is created with, so filtering runs by service finds it (a run of the
    # hidden asset job gets export_service's own tags too).
    tags = {
        "data_agent/service": result.service,
        "data_agent/export_target": result.target_id,
        "data_agent/format": result.format,
    }
    tag_run(context.instance, context.run, tags=tags, defaults=EXPORT_RUN_TAGS)
    if not result.succeeded:
        raise Failure(
            description=f"export of target {result.target_id} failed: {result.error}",
            metadata={"result_id": result.id or "", "error": result.error or ""},
            allow_retries=False,
        )
    context.log.info(f"exported {result.count} assets to {result.manifest_key}")
    return MaterializeResult(metadata=result_metadata(result, time.monotonic() - began))


def result_metadata(result: ExportResult, duration_seconds: float) -> dict[str, Any]:
    """Materialization metadata: counts and bytes as integers (the UI plots them), keys, ids and the duration."""
    return {
        "count": MetadataValue.int(result.count),
        "bytes": MetadataValue.int(sum(o["bytes"] for o in result.objects)),
        "objects": MetadataValue.json(result.objects),
        "manifest_key": MetadataValue.text(result.manifest_key or ""),
        "format": MetadataValue.text(result.format),
        "service": MetadataValue.text(result.service),
        "result_id": MetadataValue.text(result.id or ""),
        "duration_seconds": MetadataValue.float(round(duration_seconds, 3)),
    }


# The tags of every export run: export_service's own, and added by the asset to a run of the hidden asset job.
EXPORT_RUN_TAGS = {
    "data_agent/job": "export",
    # Who started the run: every launcher but the UI (launchpad, asset page, backfill, re-execution) sets its own.
    "data_agent/launched_by": "ui",
}

export_service = define_asset_job(
    EXPORT_JOB_NAME,
    selection=[EXPORTS],
    executor_def=in_process_executor,
    description="Export one target's catalog to S3 (partition = export target id).",
    tags=EXPORT_RUN_TAGS,
)


def export_tags(target: ExportTarget | DueTarget) -> dict[str, str]:
    """The Dagster tags of an export run of `target`, however it is launched."""
    return {
        "data_agent/service": target.service,
        "data_agent/export_target": target.id,
        "data_agent/format": target.format,
    }
