"""The mapping's modules as test_mapping_version.py recorded them: replace this file when it says so."""

RECORDED_AT_VERSION = 10
FINGERPRINTS = {
    "data_agent_pipelines.connectors.mrss.elements": "5936b13d9014f3c5a834e53493c4cfd6",
    "data_agent_pipelines.connectors.mrss.namespaces": "75cebe580682c8d4c643c13e57bba0af",
    "data_agent_pipelines.connectors.mrss.rules": "5e6374cfa660f034c9a55a022d84a357",
    "data_agent_pipelines.connectors.mrss.values": "e3c5adbaa4e955af9ef1c3432b6eb9ff",
    "data_agent_pipelines.connectors.standard_keys": "05292dfe7c263a79c2f1558d002a6597",
    "data_agent_pipelines.connectors.streams": "df8d01ef9172dd122c2eb0f55e494bca",
    "data_agent_pipelines.errors": "9d56b66c1976cc6c6c277d76e06cdb19",
    "data_agent_pipelines.limits": "4aa44ce131b998968653c35343d167cd",
    "data_agent_pipelines.model": "6239e2c6cce843d354710d6022f0e30c",
    "data_agent_pipelines.model.assets": "15b7addd1ced9c5ecea42322728e55a5",
    "data_agent_pipelines.model.encoding": "a56eeb28b15d41c6294a77ac84d2a237",
    "data_agent_pipelines.model.export_targets": "f756e9d7eeec9f8e79dd02ead9416515",
    "data_agent_pipelines.model.imports": "6e7c9946f38a49f8fd3ae263773050af",
    "data_agent_pipelines.model.results": "eb4262272485ee9a99ef6b9a72f80985",
    "data_agent_pipelines.model.sources": "fefc2c4d5710f18ed36c606fdcabb1ac",
}
