"""The local state database: versions allocated atomically across connections, times from the clock."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from ml.clock import Clock
from ml.local.registry import Registry
from ml.local.registry.schema import SCHEMA, SCHEMA_VERSION
from ml.platform import ApprovalStatus, EndpointStatus, LifeCycle

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
#: what schema 3 added: the registry's lifecycle stage of each version
STAGE_COLUMNS = "    stage TEXT,\n    stage_status TEXT,\n    stage_description TEXT,\n"


def _add(registry: Registry, group: str = "g") -> int:
    package = registry.add_model_package(
        group,
        approval_status=ApprovalStatus.PENDING,
        metrics={"accuracy": 0.9},
        artifact_sha256="0" * 64,
        lineage={},
        place=lambda v: f"file:///models/v{v}/",
    )
    return package.version


def test_versions_are_allocated_atomically_across_connections(tmp_path: Path) -> None:
    registry_path = tmp_path / "registry.db"
    registries = [Registry(registry_path) for _ in range(4)]
    versions: list[int] = []
    lock = threading.Lock()

    def register(registry: Registry) -> None:
        for _ in range(5):
            version = _add(registry)
            with lock:
                versions.append(version)

    threads = [threading.Thread(target=register, args=(r,)) for r in registries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(1, 21))
    assert [p.version for p in registries[0].list_model_packages("g")] == list(range(20, 0, -1))
    for registry in registries:
        registry.close()


def test_every_stored_time_comes_from_the_injected_clock(tmp_path: Path) -> None:
    now = [START]
    registry = Registry(tmp_path / "registry.db", Clock(wall=lambda: now[0]))
    try:
        version = _add(registry)
        package = registry.describe_model_package("g", version)
        assert package.created_at == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)

        now[0] += 90
        registry.update_approval("g", version, ApprovalStatus.APPROVED, "looks good")
        assert registry.package_modified_at("g", version) == datetime(2027, 1, 15, 8, 1, 30, tzinfo=UTC)

        now[0] += 30
        row = registry.begin_endpoint_change(
            name="g-staging",
            group="g",
            environment="staging",
            version=version,
            model_dir="/models/v1",
            config_name="g-staging-v1",
            owner="me",
            owner_alive=lambda _token: True,
        )
        assert row.status is EndpointStatus.CREATING
        assert row.created_at == row.updated_at == datetime(2027, 1, 15, 8, 2, tzinfo=UTC)

        now[0] += 60
        done = registry.finish_endpoint_change("g-staging", deployed_by="alice", kind="deploy")
        assert done.status is EndpointStatus.IN_SERVICE and done.version == version
        assert done.updated_at == datetime(2027, 1, 15, 8, 3, tzinfo=UTC)
        [deployment] = registry.deployments("g-staging")
        assert deployment.deployed_at == done.updated_at
        assert deployment.deployed_by == "alice"
    finally:
        registry.close()


def test_a_home_written_by_schema_1_gains_run_origins_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    old = sqlite3.connect(path)
    old.executescript(
        SCHEMA.replace(",\n    origin TEXT NOT NULL DEFAULT '{}'", "").replace(STAGE_COLUMNS, "")
        + "INSERT INTO meta VALUES ('schema_version', '1');"
        "INSERT INTO executions (execution_id, pipeline, display_name, status, parameters, requested_by,"
        " git_sha, started_at, owner) VALUES ('e1', 'p', 'd', 'Succeeded', '{}', 'alice', NULL,"
        " '2027-01-15T08:00:00+00:00', 'gone');"
    )
    old.close()
    registry = Registry(path)
    try:
        assert registry.get_execution("e1").origin == {}
        registry.create_execution(
            execution_id="e2",
            pipeline="p",
            display_name="d2",
            parameters={},
            requested_by="bob",
            git_sha="a" * 40,
            owner="me",
            origin={"git_state": "checkout", "logs": "logs/runs/e2.log"},
            steps=("TrainModel",),
            started_at=datetime(2027, 1, 15, 9, 0, tzinfo=UTC),
        )
        assert registry.get_execution("e2").origin == {"git_state": "checkout", "logs": "logs/runs/e2.log"}
    finally:
        registry.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def test_a_home_written_by_schema_2_gains_stages_from_its_decisions_and_production(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    assert STAGE_COLUMNS in SCHEMA
    old = sqlite3.connect(path)
    rows = [(1, "Approved"), (2, "Approved"), (3, "Rejected"), (4, "PendingManualApproval")]
    old.executescript(SCHEMA.replace(STAGE_COLUMNS, "") + "INSERT INTO meta VALUES ('schema_version', '2');")
    old.executemany(
        "INSERT INTO model_packages VALUES ('g', ?, ?, NULL, '2027-01-15T08:00:00+00:00', "
        "'2027-01-15T08:00:00+00:00', '{}', 'file:///m/', '00', '{}')",
        rows,
    )
    old.execute(
        "INSERT INTO endpoints VALUES ('g-production', 'g', 'production', 'InService', 2, NULL, NULL, NULL,"
        " 'c', '2027-01-15T08:00:00+00:00', '2027-01-15T08:00:00+00:00', NULL, NULL, 1)"
    )
    old.commit()
    old.close()
    registry = Registry(path)
    try:
        stages = {
            p.version: (p.life_cycle.stage, p.life_cycle.status) if p.life_cycle else None
            for p in registry.list_model_packages("g")
        }
        assert stages == {
            1: ("Development", "Approved"),
            2: ("Production", "Approved"),
            3: ("Archived", "Rejected"),
            4: ("Development", "PendingApproval"),
        }
        assert registry.describe_model_package("g", 1).approval_status is ApprovalStatus.APPROVED
        assert _add(registry) == 5
        fresh = registry.describe_model_package("g", 5).life_cycle
        assert fresh is not None and (fresh.stage, fresh.status) == ("Development", "PendingApproval")
    finally:
        registry.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def test_a_stage_update_keeps_the_approval(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.db")
    try:
        version = _add(registry)
        registry.update_approval("g", version, ApprovalStatus.APPROVED, "ok")
        package = registry.update_life_cycle("g", version, LifeCycle("Staging", "InProgress", "on staging"))
        assert package.life_cycle == LifeCycle("Staging", "InProgress", "on staging")
        assert package.approval_status is ApprovalStatus.APPROVED
        assert package.approval_description == "ok"
    finally:
        registry.close()


def test_a_home_written_by_schema_3_gains_variants_and_serves_as_before(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    old = sqlite3.connect(path)
    old.executescript(
        SCHEMA.split("CREATE TABLE IF NOT EXISTS endpoint_variants")[0]
        + "INSERT INTO meta VALUES ('schema_version', '3');"
        "INSERT INTO endpoints VALUES ('g-production', 'g', 'production', 'InService', 1, NULL, '/m/v1',"
        " NULL, 'c1', '2027-01-15T08:00:00+00:00', '2027-01-15T08:00:00+00:00', NULL, NULL, 3);"
    )
    old.close()
    registry = Registry(path)
    try:
        assert registry.variants("g-production") == []  # its one version, as AllTraffic
        assert registry.rollout("g-production") is None
        assert registry.require_endpoint("g-production").desired == (1, "/m/v1")
    finally:
        registry.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),) == ("4",)
