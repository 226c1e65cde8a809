"""The ML platform on one machine: real training, a SQLite model registry and HTTP endpoints, no AWS."""

from .platform import LocalPlatform

__all__ = ["LocalPlatform"]
