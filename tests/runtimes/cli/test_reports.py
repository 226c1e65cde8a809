"""``mlops-bot audit``: whole ids, filters run by the engine, and JSON and CSV exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.models import Action, AuditEntry, Outcome
from bot.core.records import Records
from bot.store.sqlite import SQLiteStore
from runtimes.cli.output import AUDIT_FIELDS
from tests.runtimes.cli.conftest import run, usage_error

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RUN_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-xgboost-pipeline/execution/q7w8e9r0t1y2"
#: what outside text can hold: formulas a spreadsheet would run, and RFC 4180's special characters
FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]


def seed(home: Path) -> list[AuditEntry]:
    """Entries as the engine writes them, in the CLI's store; returned newest first."""
    done = Outcome.DONE
    rows = [
        ("UBOB", "bob", Action.APPROVE, "v1", "fine", 1),
        ("UCAROL", "carol", Action.DEPLOY, "v1->staging", "", 1),
        ("UBOB", "bob", Action.APPROVE, "v2", 'a "quoted", two\nlines', 2),
        ("UALICE", "alice", Action.TRAIN, f"execution:{RUN_ARN}", "Started.", None),
        ("UDAVE", "dave", Action.ROLLBACK, "production", "Rolled back.", 1),
    ]
    entries = [
        AuditEntry(T0 + timedelta(minutes=1 + i), uid, name, action, done, target, detail, version)
        for i, (uid, name, action, target, detail, version) in enumerate(rows)
    ]
    for i, formula in enumerate(FORMULAS):
        at = T0 + timedelta(minutes=10 + i)
        entries.append(
            AuditEntry(at, "ext:mallory", formula, Action.REJECT, Outcome.REFUSED, "v2", formula, 2)
        )
    store = SQLiteStore(home / "bot.db")
    try:
        for e in entries:
            Records(store).add_audit(e)
    finally:
        store.close()
    return entries[::-1]


def test_text_shows_whole_ids_and_each_filter(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cli_home)
    # a real refusal, audited by the engine with the run id it was given
    code, _, err = run(capsys, "stop", RUN_ARN + "x", "--as", "alice")
    assert code == 1, err
    code, out, _ = run(capsys, "audit", "--action", "stop")
    assert code == 0 and out.count("\n") == 1 and f"execution:{RUN_ARN}x:" in out
    code, out, _ = run(capsys, "audit", "--action", "TRAIN")
    assert f"execution:{RUN_ARN}: Started." in out
    assert run(capsys, "audit", "--version", "v1")[1].split("\n")[:3] == [
        "2026-03-01 09:01:00 bob          approve   done     v1: fine",
        "2026-03-01 09:02:00 carol        deploy    done     v1->staging: ",
        "2026-03-01 09:05:00 dave         rollback  done     production (v1): Rolled back.",
    ]
    by_bob = run(capsys, "audit", "--actor", "bob")[1]
    assert by_bob.count("approve") == 2 and "carol" not in by_bob
    assert run(capsys, "audit", "--actor", "@BOB")[1] == by_bob  # as typed in chat, in any case
    assert run(capsys, "audit", "--actor", "UBOB")[1] == by_bob  # the recorded user id
    code, out, _ = run(capsys, "audit", "--actor", "nobody")
    assert code == 0 and out == "No audit entries match.\n"


def test_filters_combine_with_the_count(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cli_home)
    rows = json.loads(
        run(capsys, "audit", "--limit", "2", "--version", "2", "--action", "reject", "--json")[1]
    )
    assert [r["actor_name"] for r in rows] == FORMULAS[::-1][:2]
    rows = json.loads(run(capsys, "audit", "1", "--actor", "bob", "--action", "approve", "--json")[1])
    assert [(r["target"], r["version"]) for r in rows] == [("v2", 2)]
    rows = json.loads(run(capsys, "audit", "--version", "2", "--actor", "bob", "--json")[1])
    assert len(rows) == 1 and rows[0]["detail"] == 'a "quoted", two\nlines'
    # the filter is the engine's: the three v1 entries are found under the newer ones
    rows = json.loads(run(capsys, "audit", "--limit", "3", "--version", "1", "--json")[1])
    assert [r["action"] for r in rows] == ["rollback", "deploy", "approve"]


def test_json_round_trips_every_field(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = seed(cli_home)
    code, out, _ = run(capsys, "audit", "--limit", "100", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [set(r) for r in rows] == [set(AUDIT_FIELDS)] * len(entries)
    assert all(r["at"].endswith("Z") for r in rows)  # ISO 8601, UTC
    back = [
        AuditEntry(
            datetime.fromisoformat(r["at"]),
            r["actor_id"],
            r["actor_name"],
            Action(r["action"]),
            Outcome(r["outcome"]),
            r["target"],
            r["detail"],
            r["version"],
        )
        for r in rows
    ]
    assert back == entries  # newest first, nothing shortened


def test_csv_is_rfc_4180_and_neutralises_formulas(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = seed(cli_home)
    code, out, _ = run(capsys, "audit", "--limit", "100", "--csv")
    assert code == 0
    assert out.startswith("at,actor_id,actor_name,action,outcome,target,version,detail,break_glass\r\n")
    assert out.endswith("\r\n") and '"a ""quoted"", two\nlines"' in out
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == list(AUDIT_FIELDS) and len(rows) == len(entries) + 1
    by_time = {row[0]: row for row in rows[1:]}
    for e in entries:
        row = by_time[e.at.isoformat().replace("+00:00", "Z")]
        assert row[5] == e.target and row[6] == ("" if e.version is None else str(e.version))
        if e.actor_name in FORMULAS:
            # shown as the text it is, never evaluated: a quote in front, the rest unchanged
            assert row[2] == "'" + e.actor_name and row[7] == "'" + e.detail
        else:
            assert (row[2], row[7]) == (e.actor_name, e.detail)
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "--json", "--csv"], "argument --csv: not allowed with argument --json"),
        (["audit", "--action", "launch"], "invalid choice: 'launch' (choose from 'status', 'history'"),
        (["audit", "--version", "vx"], "not a model version"),
    ],
)
def test_usage_errors_exit_2_before_anything_runs(
    cli_home: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert expected in usage_error(argv, capsys)


def test_the_count_is_given_once_and_in_range(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "audit", "5", "--limit", "7")
    assert code == 2 and out == "" and "give the count once" in err
    code, _, err = run(capsys, "audit", "--limit", "0")
    assert code == 2 and "from 1 to 1000, not 0" in err
    assert not (cli_home / "bot.db").exists()  # refused before the store was opened
