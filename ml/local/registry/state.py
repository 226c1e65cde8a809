"""``Registry``: the one typed face of the state database, composed of its per-table stores."""

from __future__ import annotations

from .endpoints import EndpointStore
from .executions import ExecutionStore
from .model_packages import ModelPackageStore
from .variants import VariantStore


class Registry(ModelPackageStore, ExecutionStore, EndpointStore, VariantStore):
    """Typed access to the state database (model packages, executions, endpoints, variants
    and rollouts); safe to share
    between threads. ``Registry(path, clock)``: every timestamp it writes is read from ``clock``."""
