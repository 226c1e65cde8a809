"""Typed access to the records the core keeps in the store.

Key layout (all keys sort in time or version order):
- ``decision``   ``v00000003``                          -> Decision (one per version, written once)
- ``deployment`` ``production#<time>``                  -> DeploymentRecord
- ``validation`` ``v00000003#<time>``                   -> ValidationReport
- ``audit``      ``<time>#<nonce>``                     -> AuditEntry
- ``inflight``   ``production``                         -> the deploy/rollback under way (lock + crash marker)
- ``package``    ``<group, lower-cased>#v00000003``      -> a model version's facts (``package_facts``)
"""

from __future__ import annotations

import secrets

from ml.platform import Environment, ModelPackage

from .models import AuditEntry, AuditFilter, Decision, DeploymentRecord, ValidationReport, format_time
from .package_facts import package_from_dict, package_to_dict
from .store import Store

NS_DECISION = "decision"
NS_DEPLOYMENT = "deployment"
NS_VALIDATION = "validation"
NS_AUDIT = "audit"
NS_INFLIGHT = "inflight"
NS_PACKAGE = "package"

#: a filtered audit read looks at no more than this many of the newest entries
AUDIT_SCAN_MAX = 10_000
#: entries read from the store at a time by a filtered audit read
AUDIT_PAGE = 200

#: an in-flight marker older than this is from a process that died mid-operation
INFLIGHT_TTL_SECONDS = 3600


def version_key(version: int) -> str:
    return f"v{version:08d}"


class Records:
    def __init__(self, store: Store) -> None:
        self.store = store

    # decisions -------------------------------------------------------------
    def claim_decision(self, decision: Decision) -> Decision | None:
        """Persist ``decision`` unless one exists; returns the existing winner, or None if we won."""
        key = version_key(decision.version)
        if self.store.put_if_absent(NS_DECISION, key, decision.to_dict()):
            return None
        existing = self.store.get(NS_DECISION, key)
        if existing is None:  # deleted between the two calls: try once more
            if self.store.put_if_absent(NS_DECISION, key, decision.to_dict()):
                return None
            existing = self.store.get(NS_DECISION, key)
            if existing is None:
                raise RuntimeError(f"decision for v{decision.version} vanished twice")
        return Decision.from_dict(existing)

    def release_decision(self, version: int) -> None:
        self.store.delete(NS_DECISION, version_key(version))

    def decision(self, version: int) -> Decision | None:
        d = self.store.get(NS_DECISION, version_key(version))
        return None if d is None else Decision.from_dict(d)

    def force_decision(self, decision: Decision) -> None:
        """Record a decision taken outside the bot (console, CLI, another tool)."""
        self.store.put(NS_DECISION, version_key(decision.version), decision.to_dict())

    # deployments -----------------------------------------------------------
    def add_deployment(self, record: DeploymentRecord) -> None:
        key = f"{record.environment}#{format_time(record.at)}#{secrets.token_hex(3)}"
        self.store.put(NS_DEPLOYMENT, key, record.to_dict())

    def deployments(self, environment: Environment) -> list[DeploymentRecord]:
        rows = self.store.query(NS_DEPLOYMENT, f"{environment}#")
        return [DeploymentRecord.from_dict(v) for _, v in rows]

    # validations -----------------------------------------------------------
    def add_validation(self, report: ValidationReport) -> None:
        key = f"{version_key(report.version)}#{format_time(report.at)}"
        self.store.put(NS_VALIDATION, key, report.to_dict())

    def latest_validation(self, version: int) -> ValidationReport | None:
        rows = self.store.query(NS_VALIDATION, f"{version_key(version)}#", limit=1, newest_first=True)
        return ValidationReport.from_dict(rows[0][1]) if rows else None

    # audit -----------------------------------------------------------------
    def add_audit(self, entry: AuditEntry) -> None:
        key = f"{format_time(entry.at)}#{secrets.token_hex(4)}"
        self.store.put(NS_AUDIT, key, entry.to_dict())

    def audit(self, limit: int, where: AuditFilter | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries that ``where`` matches, newest first.

        A filter is applied while reading, page by page from the newest entry, until ``limit``
        entries match or ``AUDIT_SCAN_MAX`` entries have been read: a bounded read, so an entry
        older than the newest ``AUDIT_SCAN_MAX`` is not found by a filtered query.
        """
        if where is None or not where.narrows:
            rows = self.store.query(NS_AUDIT, limit=limit, newest_first=True)
            return [AuditEntry.from_dict(v) for _, v in rows]
        found: list[AuditEntry] = []
        after: str | None = None
        scanned = 0
        while len(found) < limit and scanned < AUDIT_SCAN_MAX:
            page = min(AUDIT_PAGE, AUDIT_SCAN_MAX - scanned)
            rows = self.store.query(NS_AUDIT, limit=page, newest_first=True, after=after)
            scanned += len(rows)
            found += [e for e in (AuditEntry.from_dict(v) for _, v in rows) if where.matches(e)]
            if len(rows) < page:
                break
            after = rows[-1][0]
        return found[:limit]

    # model versions as last described (``ml.sagemaker.registry.PackageFacts``) -------------------
    def remember_package(self, package: ModelPackage) -> None:
        key = f"{package.group.lower()}#{version_key(package.version)}"
        self.store.put(NS_PACKAGE, key, package_to_dict(package))

    def known_package(self, group: str, version: int) -> ModelPackage | None:
        stored = self.store.get(NS_PACKAGE, f"{group.lower()}#{version_key(version)}")
        return None if stored is None else package_from_dict(stored)

    def known_packages(self, group: str, limit: int | None) -> list[ModelPackage]:
        """The newest ``limit`` versions of ``group`` remembered, newest first (all with None)."""
        rows = self.store.query(NS_PACKAGE, f"{group.lower()}#", limit=limit, newest_first=True)
        return [p for p in (package_from_dict(v) for _, v in rows) if p is not None]

    # in-flight operations ----------------------------------------------------
    def begin(self, environment: Environment, what: dict[str, object]) -> dict[str, object] | None:
        """Take the environment's lock; returns the holder's record if someone else has it."""
        if self.store.put_if_absent(NS_INFLIGHT, environment, dict(what), ttl_seconds=INFLIGHT_TTL_SECONDS):
            return None
        return self.store.get(NS_INFLIGHT, environment) or {}

    def end(self, environment: Environment) -> None:
        self.store.delete(NS_INFLIGHT, environment)

    def inflight(self) -> list[tuple[str, dict[str, object]]]:
        return self.store.query(NS_INFLIGHT)
