"""Claim check for large payloads: step outputs and run state above a threshold live outside history.

Temporal refuses payloads over 2 MiB and histories over 50 MiB, while Inngest allows 4 MiB per step
and 32 MiB per run. With a payload store configured, every payload at or above
`INNGEST_TEMPORAL_PAYLOAD_THRESHOLD` (default 256 KiB) is written to the store and history keeps a
small reference (Temporal's external storage). Every process that reads or writes run data — the
workers and the gateways — must use the same store:

    INNGEST_TEMPORAL_PAYLOAD_STORE=file:///var/lib/inngest-temporal/payloads   (dev, one machine)
    INNGEST_TEMPORAL_PAYLOAD_STORE=s3://bucket/prefix                           (production;
        needs `pip install 'inngest-temporal[s3]'`; credentials and endpoint from the usual AWS
        variables, e.g. AWS_ENDPOINT_URL for an S3-compatible store)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import temporalio.converter
from temporalio.api.common.v1 import Payload

logger = logging.getLogger(__name__)

STORE_ENV = "INNGEST_TEMPORAL_PAYLOAD_STORE"
THRESHOLD_ENV = "INNGEST_TEMPORAL_PAYLOAD_THRESHOLD"
DEFAULT_THRESHOLD = 256 * 1024


class PayloadStoreError(ValueError):
    """The payload store setting cannot be used."""


class FileStorageDriver(temporalio.converter.StorageDriver):
    """Content-addressed files under one directory (dev and single-machine setups)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)

    def name(self) -> str:
        return "inngest-temporal.file"

    def _path(self, key: str) -> Path:
        return self._root / key[:2] / key

    def _write(self, payload: Payload) -> str:
        data = payload.SerializeToString()
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return key

    def _read(self, key: str) -> Payload:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PayloadStoreError(
                f"payload {key} is not in the store at {self._root}: every worker and gateway "
                f"must use the same {STORE_ENV}"
            ) from None
        payload = Payload()
        payload.ParseFromString(data)
        return payload

    async def store(
        self, context: temporalio.converter.StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[temporalio.converter.StorageDriverClaim]:
        keys = await asyncio.to_thread(lambda: [self._write(p) for p in payloads])
        return [temporalio.converter.StorageDriverClaim(claim_data={"key": k}) for k in keys]

    async def retrieve(
        self,
        context: temporalio.converter.StorageDriverRetrieveContext,
        claims: Sequence[temporalio.converter.StorageDriverClaim],
    ) -> list[Payload]:
        return await asyncio.to_thread(lambda: [self._read(c.claim_data["key"]) for c in claims])


@dataclasses.dataclass(frozen=True)
class PayloadStoreConfig:
    url: str | None
    threshold: int = DEFAULT_THRESHOLD

    @classmethod
    def from_env(cls) -> PayloadStoreConfig:
        raw = os.environ.get(THRESHOLD_ENV, "").strip()
        try:
            threshold = int(raw) if raw else DEFAULT_THRESHOLD
        except ValueError:
            raise PayloadStoreError(f"{THRESHOLD_ENV}={raw!r} must be a number of bytes") from None
        return cls(url=os.environ.get(STORE_ENV, "").strip() or None, threshold=threshold)


async def data_converter(
    config: PayloadStoreConfig, stack: contextlib.AsyncExitStack
) -> temporalio.converter.DataConverter:
    """The data converter for `config` (the default one when no store is configured).

    Resources the store needs (an S3 client) are entered on `stack`.
    """
    if not config.url:
        return temporalio.converter.DataConverter.default
    parsed = urllib.parse.urlparse(config.url)
    driver: temporalio.converter.StorageDriver
    if parsed.scheme in ("file", ""):
        path = parsed.path if parsed.scheme == "file" else config.url
        if not path:
            raise PayloadStoreError(f"{STORE_ENV}={config.url!r}: give a directory, e.g. file:///var/lib/payloads")
        driver = FileStorageDriver(path)
    elif parsed.scheme == "s3":
        driver = await _s3_driver(parsed, stack)
    else:
        raise PayloadStoreError(
            f"{STORE_ENV}={config.url!r}: unknown scheme {parsed.scheme!r} (use file:// or s3://)"
        )
    logger.info("payload store", extra={"store": config.url, "threshold_bytes": config.threshold})
    return dataclasses.replace(
        temporalio.converter.DataConverter.default,
        external_storage=temporalio.converter.ExternalStorage(
            drivers=[driver], payload_size_threshold=config.threshold
        ),
    )


async def _s3_driver(parsed: urllib.parse.ParseResult, stack: contextlib.AsyncExitStack) -> Any:
    try:
        import aioboto3  # type: ignore[import-not-found]
        from temporalio.contrib.aws.s3driver import S3StorageDriver
        from temporalio.contrib.aws.s3driver.aioboto3 import new_aioboto3_client
    except ImportError as err:
        raise PayloadStoreError(
            f"{STORE_ENV}=s3://...: needs aioboto3; install with pip install 'inngest-temporal[s3]' ({err})"
        ) from err
    bucket = parsed.netloc
    if not bucket:
        raise PayloadStoreError(f"{STORE_ENV}: s3 URL needs a bucket, e.g. s3://my-bucket")
    s3 = await stack.enter_async_context(aioboto3.Session().client("s3"))
    return S3StorageDriver(client=new_aioboto3_client(s3), bucket=bucket)
