"""One module per source kind, each with its `SPEC` (connectors.spec) beside its code; `connectors.registry` finds
them. Connectors turn what they fetch into model values and never touch the catalog."""
