"""The store on DynamoDB: one table, ``pk`` = namespace, ``sk`` = key (for Lambda and several replicas).

Items are ``{pk, sk, value, expires_at?}``; ``value`` is the record as canonical JSON (sorted keys),
so ``replace_if`` can compare whole values in a condition expression, exactly like the SQLite store.
``expires_at`` (whole epoch seconds, rounded up so a record never expires early) is the table's TTL
attribute. DynamoDB's TTL sweeper deletes expired items lazily (often days later), so every read
here filters them out itself and conditional writes treat them as absent.

This is the only module that imports boto3 for the store: the release core stays free of it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.core.store import Record, StoreError
from ml.clock import SYSTEM_CLOCK, Clock

#: DynamoDB limits the key attributes: partition key 2048 bytes, sort key 1024 bytes, neither empty.
_MAX_PK_BYTES = 2048
_MAX_SK_BYTES = 1024
#: a query page asks for at least this many items (TTL filtering may discard some of them)
_MIN_PAGE = 25
_MAX_PAGE = 1000

_DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=5,
    tcp_keepalive=True,
)

_LIVE = "(attribute_not_exists(expires_at) OR expires_at > :now)"


def _dumps(value: Record) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class DynamoDBStore:
    """``Store`` on one DynamoDB table; strongly consistent reads, conditional writes for atomicity.

    Expiry is judged on ``clock``'s wall time, like DynamoDB's TTL (epoch seconds).
    """

    def __init__(
        self, table_name: str, *, client: Any = None, region: str | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        if not table_name:
            raise ValueError("DynamoDB table name must not be empty")
        self.table_name = table_name
        self.clock = clock
        self._owns_client = client is None
        self._client: Any = client or boto3.client("dynamodb", region_name=region, config=_DEFAULT_CONFIG)

    # -- helpers -------------------------------------------------------------
    def _fail(self, action: str, ns: str, key: str | None, exc: Exception) -> StoreError:
        where = f"{ns}/{key}" if key is not None else ns
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code, message = err.get("Code", "?"), err.get("Message", str(exc))
            if code == "ResourceNotFoundException":
                return StoreError(
                    f"DynamoDB table {self.table_name!r} does not exist or is not active "
                    f"(create it, or check MLOPS_DYNAMODB_TABLE and the region): {action} {where}"
                )
            return StoreError(
                f"DynamoDB table {self.table_name!r}: {action} {where} failed: {code}: {message}"
            )
        return StoreError(f"DynamoDB table {self.table_name!r}: {action} {where} failed: {exc}")

    @staticmethod
    def _check_key(ns: str, key: str | None = None) -> None:
        if not isinstance(ns, str) or not ns:
            raise StoreError(f"namespace must be a non-empty string, got {ns!r}")
        if len(ns.encode()) > _MAX_PK_BYTES:
            raise StoreError(f"namespace {ns[:40]!r}… is longer than {_MAX_PK_BYTES} bytes")
        if key is not None:
            if not isinstance(key, str) or not key:
                raise StoreError(f"key in {ns!r} must be a non-empty string, got {key!r}")
            if len(key.encode()) > _MAX_SK_BYTES:
                raise StoreError(f"key {key[:40]!r}… in {ns!r} is longer than {_MAX_SK_BYTES} bytes")

    def _expiry(self, ttl_seconds: int | None) -> int | None:
        if ttl_seconds is None:
            return None
        if ttl_seconds <= 0:
            raise StoreError(f"ttl_seconds must be positive, got {ttl_seconds}")
        return math.ceil(self.clock.wall() + ttl_seconds)

    @staticmethod
    def _live(item: dict[str, Any], now: float) -> bool:
        exp = item.get("expires_at")
        return exp is None or float(exp["N"]) > now

    @staticmethod
    def _decode(item: dict[str, Any]) -> Record:
        return dict(json.loads(item["value"]["S"]))

    def _item(self, ns: str, key: str, value: Record, ttl_seconds: int | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise StoreError(f"value for {ns}/{key} must be a dict, got {type(value).__name__}")
        try:
            body = _dumps(value)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"value for {ns}/{key} is not JSON-serialisable: {exc}") from exc
        item: dict[str, Any] = {"pk": {"S": ns}, "sk": {"S": key}, "value": {"S": body}}
        expires = self._expiry(ttl_seconds)
        if expires is not None:
            item["expires_at"] = {"N": str(expires)}
        return item

    # -- Store ---------------------------------------------------------------
    def get(self, ns: str, key: str) -> Record | None:
        self._check_key(ns, key)
        try:
            resp = self._client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": ns}, "sk": {"S": key}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("get", ns, key, exc) from exc
        item = resp.get("Item")
        if item is None or not self._live(item, self.clock.wall()):
            return None
        return self._decode(item)

    def put(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> None:
        self._check_key(ns, key)
        item = self._item(ns, key, value, ttl_seconds)
        try:
            self._client.put_item(TableName=self.table_name, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("put", ns, key, exc) from exc

    def put_if_absent(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> bool:
        self._check_key(ns, key)
        item = self._item(ns, key, value, ttl_seconds)
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": repr(self.clock.wall())}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._fail("put_if_absent", ns, key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("put_if_absent", ns, key, exc) from exc
        return True

    def replace_if(self, ns: str, key: str, expected: Record, value: Record) -> bool:
        # An expired record counts as absent here too, so it cannot be replaced.
        self._check_key(ns, key)
        new = self._item(ns, key, value, None)["value"]
        old = self._item(ns, key, expected, None)["value"]
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": ns}, "sk": {"S": key}},
                UpdateExpression="SET #v = :new",
                ConditionExpression=f"#v = :old AND {_LIVE}",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":new": new, ":old": old, ":now": {"N": repr(self.clock.wall())}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._fail("replace_if", ns, key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("replace_if", ns, key, exc) from exc
        return True

    def delete(self, ns: str, key: str) -> None:
        self._check_key(ns, key)
        try:
            self._client.delete_item(TableName=self.table_name, Key={"pk": {"S": ns}, "sk": {"S": key}})
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("delete", ns, key, exc) from exc

    def query(
        self,
        ns: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        newest_first: bool = False,
        after: str | None = None,
    ) -> list[tuple[str, Record]]:
        self._check_key(ns)
        if limit is not None and limit < 0:
            raise StoreError(f"query limit must be >= 0, got {limit}")
        if limit == 0:
            return []
        if after is not None and not after.startswith(prefix):
            # DynamoDB refuses a start key outside the query's range: it is before or after all of it.
            if (after < prefix) != newest_first:
                after = None
            else:
                return []
        now = self.clock.wall()
        values: dict[str, Any] = {":ns": {"S": ns}, ":now": {"N": repr(now)}}
        condition = "pk = :ns"
        if prefix:  # begins_with rejects an empty operand
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        args: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "FilterExpression": _LIVE,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if after is not None:
            args["ExclusiveStartKey"] = {"pk": {"S": ns}, "sk": {"S": after}}
        out: list[tuple[str, Record]] = []
        try:
            while True:
                if limit is not None:
                    # Limit counts items read before the TTL filter, so ask for a little more than needed.
                    args["Limit"] = min(_MAX_PAGE, max(_MIN_PAGE, limit - len(out)))
                resp = self._client.query(**args)
                for item in resp.get("Items", []):
                    if self._live(item, now):  # the filter already did this; keep reads honest regardless
                        out.append((item["sk"]["S"], self._decode(item)))
                if limit is not None and len(out) >= limit:
                    return out[:limit]
                last = resp.get("LastEvaluatedKey")
                if not last:
                    return out
                args["ExclusiveStartKey"] = last
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("query", ns, prefix or None, exc) from exc

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def create_table(client: Any, name: str, *, wait: bool = True) -> None:
    """Create the store's table (on-demand billing, TTL on ``expires_at``); a no-op if it exists.

    Meant for tests and local use; production tables belong to the infrastructure code.
    """
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise StoreError(f"cannot create DynamoDB table {name!r}: {exc}") from exc
    if wait:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
