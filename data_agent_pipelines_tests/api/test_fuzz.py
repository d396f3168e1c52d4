"""Requests generated from the OpenAPI document (schemathesis): none answers 5xx, every error has the one shape."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import ASSET_FIELDS

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


# Values a client may send for any field: the edges of every type the asset model and the settings take.
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, -1, 0, 10**20, 3_000_000_000]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 1e20, 0.5, -0.0]),
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "a\x00b", "x" * 30_000, "http://[::1/", "https://cdn.example.com/a.m3u8", "US"]),
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["url", "role", "name", "allow", "deny", "streams", "subtitles", "start", "end", "value", "width", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)


def test_no_asset_edit_answers_a_server_error_or_stores_what_cannot_be_read(acme: Tenant, catalog: Catalog) -> None:
    source = new_source(acme, sign_streams="akamai", credentials={"key": AKAMAI_KEY})
    put_asset(catalog, source["id"], "ast_edit")
    statuses: Counter[int] = Counter()

    @settings(max_examples=150, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=st.dictionaries(st.sampled_from(ASSET_FIELDS), HOSTILE_VALUES, min_size=1, max_size=3))
    def check(body: dict) -> None:
        response = acme.client.patch(acme.url("/assets/ast_edit"), json=body)
        statuses[response.status_code] += 1
        assert response.status_code in (200, 400, 422), (body, response.text)
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "detail"}, response.text
            return
        # What an edit stored can be read back and played, whatever it was.
        assert acme.client.get(acme.url("/assets/ast_edit")).status_code == 200
        assert acme.client.get(acme.url("/assets/ast_edit/playback")).status_code == 200

    check()
    assert statuses[200] > 10 and statuses[400] > 10, statuses


@pytest.mark.parametrize("field", ["url", "kind", "options", "credentials", "every", "max_removal_fraction"])
def test_no_source_setting_answers_a_server_error(acme: Tenant, field: str) -> None:
    source = new_source(acme)
    statuses: Counter[int] = Counter()
    settings_values = {
        "url": HOSTILE_SCALARS,
        "kind": st.sampled_from(["mrss", "jwplayer", "brightcove", "kaltura", "vimeo", "backstage-json", "x"]),
        "options": st.dictionaries(
            st.sampled_from(["oauth_url", "timeout", "site_id", "api", "ttl", "bad key"]), HOSTILE_SCALARS, max_size=3
        ),
        "credentials": st.dictionaries(st.sampled_from(["api_secret", "key", "k" * 80]), HOSTILE_SCALARS, max_size=2),
        "every": HOSTILE_SCALARS,
        "max_removal_fraction": HOSTILE_SCALARS,
    }

    @settings(max_examples=40, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=settings_values[field])
    def check(value) -> None:
        for response in (
            acme.client.patch(acme.url(f"/sources/{source['id']}"), json={field: value}),
            acme.client.post(
                acme.url("/sources"),
                json={"name": "Fuzzed", "kind": "mrss", "url": "https://feeds.example.com/f.xml", field: value},
            ),
        ):
            statuses[response.status_code // 100 * 100] += 1
            assert response.status_code < 500, (field, value, response.text)
            if response.status_code >= 400:
                assert set(response.json()) == {"error", "detail"}, response.text
        acme.client.delete(acme.url("/sources/" + "x"))

    check()
    assert statuses[400] > 0, statuses
