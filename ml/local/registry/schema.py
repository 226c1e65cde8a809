"""The state database's tables, and the schema version this code writes."""

from __future__ import annotations

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_packages (
    grp TEXT NOT NULL,
    version INTEGER NOT NULL,
    approval_status TEXT NOT NULL,
    approval_description TEXT,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    metrics TEXT NOT NULL,
    artifact_uri TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    lineage TEXT NOT NULL,
    stage TEXT,
    stage_status TEXT,
    stage_description TEXT,
    PRIMARY KEY (grp, version)
);
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL,
    parameters TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    git_sha TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    failure_reason TEXT,
    model_version INTEGER,
    owner TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (pipeline, started_at);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions (execution_id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    failure_reason TEXT,
    PRIMARY KEY (execution_id, name)
);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER,
    target_version INTEGER,
    model_dir TEXT,
    target_model_dir TEXT,
    config_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    failure_reason TEXT,
    owner TEXT,
    generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    environment TEXT NOT NULL,
    version INTEGER NOT NULL,
    deployed_at TEXT NOT NULL,
    deployed_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    config_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_by_endpoint ON deployments (endpoint, id);
CREATE TABLE IF NOT EXISTS endpoint_variants (
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_dir TEXT NOT NULL,
    weight INTEGER NOT NULL,
    role TEXT NOT NULL,
    warm_until TEXT,
    counted_since TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (endpoint, name)
);
CREATE TABLE IF NOT EXISTS rollouts (
    endpoint TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    to_version INTEGER NOT NULL,
    from_version INTEGER,
    policy TEXT NOT NULL,
    phase TEXT NOT NULL,
    traffic_percent INTEGER NOT NULL,
    alarms TEXT NOT NULL DEFAULT '[]',
    started_at TEXT NOT NULL,
    stage_ends_at TEXT,
    ends_at TEXT,
    verdict TEXT NOT NULL DEFAULT '',
    ended_by TEXT NOT NULL DEFAULT '',
    request TEXT,
    requested_by TEXT
);
"""

#: What each older schema version lacks, applied in order when a home written by older code is opened.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: where a run comes from (git state, its log file), beside git_sha
    2: ("ALTER TABLE executions ADD COLUMN origin TEXT NOT NULL DEFAULT '{}'",),
    # 2 -> 3: registry lifecycle stages (``ml.lifecycle``), filled in from what older homes know:
    # the approval decision, then what production serves now.
    3: (
        "ALTER TABLE model_packages ADD COLUMN stage TEXT",
        "ALTER TABLE model_packages ADD COLUMN stage_status TEXT",
        "ALTER TABLE model_packages ADD COLUMN stage_description TEXT",
        "UPDATE model_packages SET stage = CASE approval_status WHEN 'Rejected' THEN 'Archived' "
        "ELSE 'Development' END, stage_status = CASE approval_status WHEN 'Rejected' THEN 'Rejected' "
        "WHEN 'Approved' THEN 'Approved' ELSE 'PendingApproval' END, "
        "stage_description = 'Set from the approval status when the registry gained stages'",
        "UPDATE model_packages SET stage = 'Production', stage_status = 'Approved', "
        "stage_description = 'Served by production when the registry gained stages' "
        "WHERE EXISTS (SELECT 1 FROM endpoints e WHERE e.grp = model_packages.grp "
        "AND e.environment = 'production' AND e.version = model_packages.version)",
    ),
    # 3 -> 4: weighted variants and rollouts. Their tables come with SCHEMA (created if missing); an
    # endpoint without variant rows serves its one version as ``AllTraffic``, as it did before.
    4: (),
}
