"""Requests generated from the OpenAPI document (schemathesis): none answers 5xx, every error has the one shape."""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_agent_pipelines.catalog.store import Catalog

from .conftest import Tenant, new_source, put_asset
from .keys import AKAMAI_KEY

EXAMPLES_PER_OPERATION = 12  # ~25 operations: about 300 requests per backend, a few seconds


def test_no_generated_request_answers_a_server_error(acme: Tenant, catalog: Catalog) -> None:
    source = new_source(acme, sign_streams="akamai", credentials={"key": AKAMAI_KEY})
    put_asset(catalog, source["id"], "ast_fuzz")
    real_ids = {"source_id": source["id"], "asset_id": "ast_fuzz"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", acme.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    statuses: Counter[int] = Counter()

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), use_real_ids=st.booleans())
        def check(case, use_real_ids: bool) -> None:
            parameters = case.path_parameters or {}
            if "service" in parameters:
                parameters["service"] = "acme"  # the key's own service: requests get past auth into the handlers
            if use_real_ids:
                parameters.update({k: v for k, v in real_ids.items() if k in parameters})
            response = case.call(headers={"Authorization": acme.client.headers["Authorization"]})
            statuses[response.status_code // 100 * 100] += 1
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            assert "Traceback" not in response.text
            if response.status_code >= 400:
                assert set(response.json()) == {"error", "detail"}, response.text

        check()
    # The requests reached the handlers, not only the validation in front of them.
    assert statuses[200] > 50 and statuses[400] > 50, statuses
