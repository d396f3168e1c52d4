"""S3 for tests: moto's server mode on loopback, a real HTTP endpoint, with IAM authentication switched on.

One server serves the whole session. It holds two IAM users — the platform's own (`PLATFORM_KEYS`, allowed
everything) and a customer's (`CUSTOMER_KEYS`, allowed only buckets named `customer-*`) — and a role
(`ROLE_ARN`) a customer lets the platform assume. Once they exist, authentication is switched on, so a request
with unknown keys is refused as AWS would refuse it. Tests name their buckets uniquely (`bucket_name`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CustomerExport"
REGION = "us-east-1"


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str


@dataclass
class S3Server:
    url: str
    platform: Keys
    customer: Keys

    def client(self, keys: Keys | None = None) -> Any:
        keys = keys or self.platform
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
        )

    def make_bucket(self, prefix: str = "platform") -> str:
        name = bucket_name(prefix)
        keys = self.customer if prefix == "customer" else self.platform
        self.client(keys).create_bucket(Bucket=name)
        return name

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def pending_uploads(self, bucket: str) -> list[str]:
        listed = self.client().list_multipart_uploads(Bucket=bucket)
        return [upload["Key"] for upload in listed.get("Uploads", [])]


def bucket_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@contextmanager
def moto_server() -> Iterator[tuple[ThreadedMotoServer, str]]:
    """A moto server on a free loopback port; closed (socket included) on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield server, f"http://{host}:{port}"
    finally:
        stop(server)


def stop(server: ThreadedMotoServer) -> None:
    """Stop serving and close the listening socket, so that clients are refused rather than left waiting."""
    server.stop()
    if server._server is not None:
        server._server.server_close()


def _user(iam: Any, name: str, policy: dict[str, Any]) -> Keys:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


def _allow(actions: str, resources: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


def provision(url: str) -> S3Server:
    """Create the users and the role, then switch authentication on."""
    iam = boto3.client(
        "iam", endpoint_url=url, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup"
    )
    suffix = uuid.uuid4().hex[:8]
    platform = _user(iam, f"platform-{suffix}", _allow("*", ["*"]))
    customer_buckets = ["arn:aws:s3:::customer-*", "arn:aws:s3:::customer-*/*"]
    customer = _user(iam, f"customer-{suffix}", _allow("s3:*", customer_buckets))
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    try:
        iam.create_role(RoleName="CustomerExport", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName="CustomerExport", PolicyName="s3", PolicyDocument=json.dumps(_allow("s3:*", customer_buckets))
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()
    return S3Server(url=url, platform=platform, customer=customer)
