"""What every Dagster definition of the project carries for an operator: owners and code references."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from dagster import (
    AnchorBasedFilePathMapping,
    AssetsDefinition,
    BetaWarning,
    link_code_references_to_git,
    with_source_code_references,
)

# Who answers for the assets in the UI's catalog (Dagster's `team:` owner form; filterable in the asset list).
OWNERS = ["team:data-agent"]
_PACKAGE = Path(__file__).resolve().parents[1]


def with_code_references(
    assets: Sequence[AssetsDefinition], git_url: str | None, git_ref: str
) -> list[AssetsDefinition]:
    """The assets with a link to the code that defines them: to that file in the repository at `git_ref` when
    `git_url` is set (DATA_AGENT_CODE_GIT_URL), else to the local file (useful under `dg dev` in a checkout).

    Both Dagster calls are in beta in 1.13 and warn each time the definitions load (a dozen processes under
    `dg dev`): the warnings are silenced here, around these calls only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        referenced = with_source_code_references(assets)
        if git_url:
            referenced = link_code_references_to_git(
                referenced,
                git_url=git_url,
                git_branch=git_ref,
                file_path_mapping=AnchorBasedFilePathMapping(
                    local_file_anchor=_PACKAGE / "__init__.py",
                    file_anchor_path_in_repository="data_agent_pipelines/__init__.py",
                ),
            )
    return list(referenced)
