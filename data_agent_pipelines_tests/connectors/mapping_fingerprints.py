"""The mapping's modules as test_mapping_version.py recorded them: replace this file when it says so."""

RECORDED_AT_VERSION = 2
FINGERPRINTS = {
    "data_agent_pipelines.connectors.mrss.elements": "65f36efe46d248922b3558913c0e8d9d",
    "data_agent_pipelines.connectors.mrss.namespaces": "75cebe580682c8d4c643c13e57bba0af",
    "data_agent_pipelines.connectors.mrss.rules": "5e6374cfa660f034c9a55a022d84a357",
    "data_agent_pipelines.connectors.mrss.values": "e3c5adbaa4e955af9ef1c3432b6eb9ff",
    "data_agent_pipelines.connectors.standard_keys": "05292dfe7c263a79c2f1558d002a6597",
    "data_agent_pipelines.connectors.streams": "df8d01ef9172dd122c2eb0f55e494bca",
    "data_agent_pipelines.limits": "016562d04929a26afcd9ddd54a0f29e8",
    "data_agent_pipelines.model": "775f85f7858f59db0ad75d5fcf353312",
}
