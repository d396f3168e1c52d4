"""Stream signing: every scheme checked independently against its CDN's specification, expiry, and validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.errors import InvalidInput
from data_agent_pipelines.model import Asset, AssetWrite, Edition, Stream, Subtitle, encode_asset
from data_agent_pipelines.signing import build_signer, link_expiry, playback, signer_for
from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

from .api.cdn import Refused, verify_akamai, verify_cloudfront, verify_nginx
from .api.keys import AKAMAI_KEY, KEY_PAIR_ID, NGINX_SECRET, ec_pem, rsa_key, rsa_pem

NOW = 1_800_000_000
STREAM = "https://cdn.example.com/vod/film%20one/master.m3u8"


def cloudfront():
    return build_signer("cloudfront", {"key_pair_id": KEY_PAIR_ID, "private_key": rsa_pem()}, {})


@pytest.mark.parametrize("url", [STREAM, "https://d111.cloudfront.net/a/b.mpd?quality=hd"])
def test_cloudfront_signed_url_verifies_with_the_public_key_until_it_expires(url: str) -> None:
    signed = cloudfront().sign(url, NOW + 60)
    assert verify_cloudfront(signed, rsa_key().public_key(), KEY_PAIR_ID, now=NOW) == url
    assert f"Expires={NOW + 60}" in signed
    with pytest.raises(Refused, match="expired"):
        verify_cloudfront(signed, rsa_key().public_key(), KEY_PAIR_ID, now=NOW + 60)


def test_a_tampered_cloudfront_url_is_refused() -> None:
    signed = cloudfront().sign(STREAM, NOW + 60)
    with pytest.raises(Refused, match="bad signature"):
        verify_cloudfront(signed.replace("master", "other"), rsa_key().public_key(), KEY_PAIR_ID, now=NOW)
    with pytest.raises(Refused, match="bad signature"):
        verify_cloudfront(
            signed.replace(f"Expires={NOW + 60}", f"Expires={NOW + 9999}"), rsa_key().public_key(), KEY_PAIR_ID, now=NOW
        )


def test_a_pem_given_on_one_line_with_escaped_newlines_still_signs() -> None:
    one_line = rsa_pem().strip().replace("\n", "\\n")
    signed = build_signer("cloudfront", {"key_pair_id": KEY_PAIR_ID, "private_key": one_line}, {}).sign(STREAM, NOW + 5)
    verify_cloudfront(signed, rsa_key().public_key(), KEY_PAIR_ID, now=NOW)


def test_akamai_token_recomputes_from_the_edgeauth_spec_with_the_default_acl() -> None:
    signed = build_signer("akamai", {"key": AKAMAI_KEY}, {}).sign(STREAM, NOW + 30)
    assert signed.startswith(STREAM + "?hdnts=exp=")
    fields = verify_akamai(signed, AKAMAI_KEY, now=NOW)
    assert fields == {"exp": str(NOW + 30), "acl": "/*"}
    with pytest.raises(Refused, match="expired"):
        verify_akamai(signed, AKAMAI_KEY, now=NOW + 30)
    with pytest.raises(Refused, match="bad hmac"):
        verify_akamai(signed, "00" + AKAMAI_KEY[2:], now=NOW)


def test_akamai_acl_can_be_the_streams_own_path_and_the_token_name_is_configurable() -> None:
    signer = build_signer("akamai", {"key": AKAMAI_KEY}, {"acl": "path", "token_name": "__token__"})
    url = "https://akamai.example.com/vod/a/index.m3u8?lang=en"
    signed = signer.sign(url, NOW + 30)
    assert "&__token__=exp=" in signed
    fields = verify_akamai(signed, AKAMAI_KEY, now=NOW, token_name="__token__")
    assert fields["acl"] == "/vod/a/index.m3u8"
    # A token for one path does not open another.
    moved = signed.replace("/vod/a/index.m3u8?", "/vod/b/index.m3u8?", 1)
    with pytest.raises(Refused, match="outside the ACL"):
        verify_akamai(moved, AKAMAI_KEY, now=NOW, token_name="__token__")


def test_akamai_fixed_acl_pattern() -> None:
    signed = build_signer("akamai", {"key": AKAMAI_KEY}, {"acl": "/vod/*"}).sign(STREAM, NOW + 30)
    assert verify_akamai(signed, AKAMAI_KEY, now=NOW)["acl"] == "/vod/*"


def test_nginx_secure_link_md5_recomputes_as_nginx_does() -> None:
    signed = build_signer("nginx-secure-link", {"secret": NGINX_SECRET}, {}).sign(STREAM, NOW + 10)
    # nginx hashes $uri: the decoded path.
    assert verify_nginx(signed, NGINX_SECRET, now=NOW + 10) == "/vod/film one/master.m3u8"
    assert "=" not in signed.split("md5=")[1].split("&")[0]  # base64url without padding
    with pytest.raises(Refused, match="expired"):
        verify_nginx(signed, NGINX_SECRET, now=NOW + 11)
    with pytest.raises(Refused, match="bad md5"):
        verify_nginx(signed, "another secret", now=NOW)


def test_an_unsigned_source_returns_urls_as_they_are() -> None:
    assert build_signer(None, {}, {}).sign(STREAM, NOW) == STREAM


@pytest.mark.parametrize(
    ("scheme", "credentials", "options", "message"),
    [
        ("cloudfront", {}, {}, "needs --credential key_pair_id=… .*--credential private_key=…"),
        ("cloudfront", {"key_pair_id": "K1"}, {}, "needs --credential private_key=…"),
        ("cloudfront", {"key_pair_id": "K1", "private_key": "not a key"}, {}, "private_key: it is not a PEM"),
        ("cloudfront", {"key_pair_id": "K1", "private_key": "EC"}, {}, "this key is not RSA"),
        ("akamai", {}, {}, "needs --credential key=…"),
        ("akamai", {"key": "xyz"}, {}, "hexadecimal string of even length"),
        ("akamai", {"key": "abc"}, {}, "hexadecimal string of even length"),
        ("akamai", {"key": AKAMAI_KEY}, {"token_name": "a b"}, "invalid --option token_name"),
        ("akamai", {"key": AKAMAI_KEY}, {"acl": "vod/*"}, "invalid --option acl"),
        ("nginx-secure-link", {}, {}, "needs --credential secret=…"),
        ("nginx-secure-link", {"secret": "s"}, {"ttl": "0"}, r"invalid --option ttl='0'"),
        ("nginx-secure-link", {"secret": "s"}, {"ttl": "1h"}, r"invalid --option ttl='1h'.*whole number of seconds"),
        ("rot13", {}, {}, "unknown signing scheme"),
    ],
)
def test_signing_settings_are_refused_with_a_message_that_says_what_to_fix(
    scheme: str, credentials: dict, options: dict, message: str
) -> None:
    if credentials.get("private_key") == "EC":
        credentials = {**credentials, "private_key": ec_pem()}
    with pytest.raises(InvalidInput, match=message) as caught:
        build_signer(scheme, credentials, options)
    for secret in credentials.values():
        assert len(secret) < 4 or secret not in str(caught.value)


def _source(catalog: Catalog, name: str, **changes) -> str:
    return add_source(
        catalog, "acme", SourceChanges(name=name, kind="mrss", url=f"https://feeds.example.com/{name}.xml", **changes)
    ).id


def test_sources_are_validated_on_add_and_on_edit_with_their_merged_settings(catalog: Catalog) -> None:
    catalog.add_service("acme")
    with pytest.raises(InvalidInput, match="needs --credential key_pair_id"):
        _source(catalog, "a", sign_streams="cloudfront", credentials={"private_key": rsa_pem()})
    source_id = _source(catalog, "b", sign_streams="akamai", credentials={"key": AKAMAI_KEY})
    with pytest.raises(InvalidInput, match="needs --credential key_pair_id"):
        edit_source(catalog, source_id, SourceChanges(sign_streams="cloudfront"))
    with pytest.raises(InvalidInput, match="needs --credential key=…"):
        edit_source(catalog, source_id, SourceChanges(credentials={"key": ""}))
    with pytest.raises(InvalidInput, match="invalid --option ttl"):
        edit_source(catalog, source_id, SourceChanges(options={"ttl": "-5"}))
    edited = edit_source(
        catalog,
        source_id,
        SourceChanges(sign_streams="cloudfront", credentials={"key_pair_id": KEY_PAIR_ID, "private_key": rsa_pem()}),
    )
    assert edited.sign_streams == "cloudfront"
    # Stopping signing needs no credentials.
    assert edit_source(catalog, source_id, SourceChanges(sign_streams="none")).sign_streams is None


def _asset(catalog: Catalog, source_id: str, asset_id: str) -> None:
    asset = Asset(
        f"ext-{asset_id}",
        editions=[
            Edition(
                "full", [Stream(STREAM, "hls", default=True)], [Subtitle("https://cdn.example.com/vod/en.vtt", "en")]
            ),
            Edition("trailer", [Stream("https://cdn.example.com/vod/trailer.mp4", "mp4")]),
        ],
    )
    encoded = encode_asset(asset)
    catalog.write_assets(
        catalog.get_source(source_id),
        [AssetWrite(asset_id, asset.external_id, encoded.columns, encoded.content_hash)],
        imported_at=catalog.clock(),
    )


def test_signing_is_decided_by_the_assets_source(catalog: Catalog) -> None:
    catalog.add_service("acme")
    protected = _source(
        catalog,
        "protected",
        sign_streams="nginx-secure-link",
        credentials={"secret": NGINX_SECRET},
        options={"ttl": "120"},
    )
    open_ = _source(catalog, "open")
    _asset(catalog, protected, "ast_p")
    _asset(catalog, open_, "ast_o")
    now = datetime.fromtimestamp(NOW, UTC)

    signed = playback(catalog.get_asset("ast_p"), catalog.get_source(protected), now=now)
    assert (signed["signed"], signed["scheme"], signed["ttl"]) == (True, "nginx-secure-link", 120)
    assert signed["expires_at"] == "2027-01-15T08:02:00Z"
    urls = [s["url"] for e in signed["editions"] for s in (*e["streams"], *e["subtitles"])]
    assert len(urls) == 3
    for url in urls:
        verify_nginx(url, NGINX_SECRET, now=NOW + 120)
        with pytest.raises(Refused, match="expired"):
            verify_nginx(url, NGINX_SECRET, now=NOW + 121)
    assert signed["editions"][0]["streams"][0]["type"] == "hls"

    plain = playback(catalog.get_asset("ast_o"), catalog.get_source(open_), now=now, ttl=60)
    assert (plain["signed"], plain["scheme"], plain["expires_at"]) == (False, None, None)
    assert plain["editions"][0]["streams"][0]["url"] == STREAM

    shorter = playback(catalog.get_asset("ast_p"), catalog.get_source(protected), now=now, ttl=5)
    verify_nginx(shorter["editions"][0]["streams"][0]["url"], NGINX_SECRET, now=NOW + 5)
    with pytest.raises(Refused, match="expired"):
        verify_nginx(shorter["editions"][0]["streams"][0]["url"], NGINX_SECRET, now=NOW + 6)


def test_a_changed_key_is_used_at_once(catalog: Catalog) -> None:
    catalog.add_service("acme")
    source_id = _source(catalog, "s", sign_streams="nginx-secure-link", credentials={"secret": "first"})
    first = signer_for(catalog.get_source(source_id)).sign(STREAM, NOW + 10)
    edit_source(catalog, source_id, SourceChanges(credentials={"secret": "second"}))
    second = signer_for(catalog.get_source(source_id)).sign(STREAM, NOW + 10)
    verify_nginx(first, "first", now=NOW)
    verify_nginx(second, "second", now=NOW)


@pytest.mark.parametrize(
    ("offset", "ttl", "expires"),
    [
        (0, 3600, NOW + 3600),
        (1, 3600, NOW + 3660),
        (59, 3600, NOW + 3660),
        (61, 3600, NOW + 3720),
        (7, 5, NOW + 12),
        (3, 100, NOW + 110),
    ],
)
def test_expiry_is_rounded_up_to_a_step_of_a_tenth_of_the_ttl_at_most_a_minute(
    offset: int, ttl: int, expires: int
) -> None:
    now = datetime.fromtimestamp(NOW + offset, UTC)
    assert link_expiry(now, ttl) == expires
    assert 0 <= expires - (NOW + offset + ttl) < max(1, min(60, ttl // 10))


def test_one_link_is_made_for_everyone_within_a_step_and_a_new_one_after(catalog: Catalog) -> None:
    catalog.add_service("acme")
    source = catalog.get_source(
        _source(
            catalog, "cf", sign_streams="cloudfront", credentials={"key_pair_id": KEY_PAIR_ID, "private_key": rsa_pem()}
        )
    )
    _asset(catalog, source.id, "ast_cf")
    asset = catalog.get_asset("ast_cf")

    def url_at(offset: int) -> str:
        made = playback(asset, source, now=datetime.fromtimestamp(NOW + offset, UTC))
        return made["editions"][0]["streams"][0]["url"]

    assert url_at(1) == url_at(59)
    later = url_at(61)
    assert later != url_at(59)
    verify_cloudfront(later, rsa_key().public_key(), KEY_PAIR_ID, now=NOW + 61 + 3600)
