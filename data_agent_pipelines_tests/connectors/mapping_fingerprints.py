"""The mapping's modules as test_mapping_version.py recorded them: replace this file when it says so."""

RECORDED_AT_VERSION = 11
FINGERPRINTS = {
    "data_agent_pipelines.connectors.mrss.elements": "166b023152648180e7ad305dc69e28cf",
    "data_agent_pipelines.connectors.mrss.namespaces": "75cebe580682c8d4c643c13e57bba0af",
    "data_agent_pipelines.connectors.mrss.rules": "3d24165844d051038332cf0b6e536045",
    "data_agent_pipelines.connectors.mrss.values": "734530a3bbd30cbdae8ff82a4c856fb9",
    "data_agent_pipelines.connectors.standard_keys": "fa358c1bca5de99f3bc5feb01338d435",
    "data_agent_pipelines.connectors.streams": "df8d01ef9172dd122c2eb0f55e494bca",
    "data_agent_pipelines.errors": "9d56b66c1976cc6c6c277d76e06cdb19",
    "data_agent_pipelines.limits": "1006a38954fab49c3884ad1d63d67d91",
    "data_agent_pipelines.model": "6239e2c6cce843d354710d6022f0e30c",
    "data_agent_pipelines.model.assets": "15b7addd1ced9c5ecea42322728e55a5",
    "data_agent_pipelines.model.encoding": "fc1266dcbcc63c5ea3f98ed2e9d36505",
    "data_agent_pipelines.model.export_targets": "f756e9d7eeec9f8e79dd02ead9416515",
    "data_agent_pipelines.model.imports": "6e7c9946f38a49f8fd3ae263773050af",
    "data_agent_pipelines.model.results": "eb4262272485ee9a99ef6b9a72f80985",
    "data_agent_pipelines.model.sources": "fefc2c4d5710f18ed36c606fdcabb1ac",
}
