"""The export settings the catalog validates agree with the export package that carries them out."""

from __future__ import annotations

from data_agent_pipelines import export_settings
from data_agent_pipelines.export import formats


def test_the_format_names_a_target_may_name_are_exactly_the_writers() -> None:
    assert tuple(formats.FORMATS) == export_settings.FORMATS
    assert [writer.name for writer in formats.FORMATS.values()] == list(export_settings.FORMATS)
