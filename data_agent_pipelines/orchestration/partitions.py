"""Dynamic partitions: one `sources` partition per catalog source (key = source id)."""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

SOURCES_PARTITIONS_NAME = "sources"
sources_partitions = DynamicPartitionsDefinition(name=SOURCES_PARTITIONS_NAME)
