"""The local platform's durable state: model registry, pipeline executions and endpoints, in SQLite.

One database file (``home/registry.db``) in WAL mode, shared by every process working on the same home
(the bot, CLI commands, the endpoint host): WAL lets readers proceed while one writer commits, and every
write runs in a ``BEGIN IMMEDIATE`` transaction so allocation (next model version, endpoint changes)
is atomic across processes. Within a process one connection is shared behind a lock: the load is a few
writes per pipeline step, far from needing more.

``schema`` holds the tables, ``database`` the connection, ``model_packages``, ``executions``,
``endpoints`` and ``variants`` one store each (``state.Registry`` combines them), ``owner_token``
process liveness.
"""

from .database import BUSY_TIMEOUT_MS, utcnow
from .endpoints import TRANSITIONAL_ENDPOINT_STATUSES, EndpointRow
from .owner_token import OwnerToken
from .schema import SCHEMA_VERSION
from .state import Registry
from .variants import RolloutRow, VariantRow, variant_name

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_VERSION",
    "TRANSITIONAL_ENDPOINT_STATUSES",
    "EndpointRow",
    "OwnerToken",
    "Registry",
    "RolloutRow",
    "VariantRow",
    "utcnow",
    "variant_name",
]
