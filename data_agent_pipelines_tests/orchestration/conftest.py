"""What the orchestration tests share: the project's Dagster instance, and the asset partition status the UI shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import AssetPartitionStatus, DagsterInstance

from data_agent_pipelines.orchestration.checks import IMPORT_RESULTS
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.orchestration.partitions import sources_partitions
from data_agent_pipelines.settings import Settings


@pytest.fixture
def instance(settings: Settings) -> Iterator[DagsterInstance]:
    """The Dagster instance of the test's settings, as every data-agent command opens it."""
    opened = open_instance(settings)
    yield opened
    opened.dispose()


def partition_status(instance: DagsterInstance, source_id: str) -> AssetPartitionStatus | None:
    """The status of a source's `import_results` partition, as the asset's partitions view shows it."""
    statuses = instance.get_status_by_partition(IMPORT_RESULTS, [source_id], sources_partitions)
    return (statuses or {}).get(source_id)
