"""Evaluate the heartbeat as the sensor daemon does: resolve its run requests, then apply its partition requests."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterInstance, RunRequest, SensorDefinition, build_sensor_context
from dagster._core.definitions.dynamic_partitions_request import AddDynamicPartitionsRequest

from data_agent_pipelines.definitions import defs
from data_agent_pipelines.orchestration.partitions import SOURCES_PARTITIONS_NAME
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.settings import get_settings


@dataclass
class Tick:
    run_requests: list[RunRequest]
    added: list[str]
    removed: list[str]

    @property
    def keys(self) -> list[str]:
        return [request.partition_key for request in self.run_requests]


def tick(sensor: SensorDefinition, instance: DagsterInstance, database_url: str) -> Tick:
    """One tick; `added` and `removed` are the partitions that changed, whoever changed them."""
    # The sensor reads the environment's catalog, as in production (the resource has no setting for it).
    assert get_settings().database_url == database_url
    before = set(instance.get_dynamic_partitions(SOURCES_PARTITIONS_NAME))
    # An instance ref, as the code server has: `evaluate_tick` then validates each run request against the job
    # and the partitions as they will be after this tick's partition requests, exactly as in production.
    with build_sensor_context(
        instance_ref=instance.get_ref(),
        resources={"catalog": CatalogResource()},
        repository_def=defs.get_repository_def(),
    ) as context:
        data = sensor.evaluate_tick(context)
    for request in data.dynamic_partitions_requests or ():
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    after = set(instance.get_dynamic_partitions(SOURCES_PARTITIONS_NAME))
    return Tick(list(data.run_requests or ()), sorted(after - before), sorted(before - after))
