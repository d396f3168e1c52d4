"""`python -m data_agent_pipelines.cli`: the `data-agent` command."""

from .app import main

main()
