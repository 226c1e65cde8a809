"""The model card export of one version: JSON (stable fields, documented in README) and Markdown.

Built from what the release card shows (``CardState``, evidence included) plus the version's audit
entries. In Markdown every piece of outside text (names, reasons, lineage, check details) is escaped, so
that it reads as text and never as markup, a link or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape as escape_html
from typing import Any

from slack_sdk.models.blocks import Block

from bot.core.evidence import Evidence
from bot.core.models import AuditEntry
from bot.slack_text import escape

from . import links
from .common import Message, context, fallback, header, section, to_dicts
from .release_card import CardState

__all__ = [
    "CARD_AUDIT_LIMIT",
    "FORMAT",
    "FORMAT_VERSION",
    "card_document",
    "card_markdown",
    "md_escape",
    "render_model_card",
]

#: audit entries a model card lists, newest first
CARD_AUDIT_LIMIT = 200
#: Markdown characters per code block in the chat's reply (a section holds 3,000 once escaped)
CHUNK = 2400
FORMAT = "mlops-bot/model-card"
FORMAT_VERSION = 1
#: Markdown's punctuation that can start markup inside a line, made literal with a backslash (every
#: escaped value follows other text on its line, so line-start markers such as ``-`` or ``1.`` are inert)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~@])")
#: what GitHub's Markdown turns into links by itself: ``scheme://``, ``www.`` (and ``@``, escaped above)
_AUTOLINK = re.compile(r"(?i):(?=//)|(?<=www)\.")


def md_escape(text: object) -> str:
    """Outside text as literal Markdown on one line: HTML neutralised, punctuation escaped."""
    flat = " ".join(str(text).split())
    html = escape_html(flat, quote=False)  # Markdown passes HTML through: &, < and > as entities
    return _AUTOLINK.sub(lambda m: "\\" + m.group(), _MD_SPECIAL.sub(r"\\\1", html))


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _evidence(evidence: Evidence | None) -> dict[str, Any]:
    if evidence is None:
        empty: dict[str, Any] = {"champion": None, "metrics": [], "rules": [], "rules_met": None}
        return {**empty, "data": None, "confusion_matrix": None}
    return {
        "champion": {"version": evidence.champion_version, "is_this_version": evidence.is_champion},
        "metrics": [
            {
                "name": m.name,
                "value": m.value,
                "standard_deviation": evidence.spreads.get(m.name),
                "champion": m.champion,
                "delta": m.delta,
            }
            for m in evidence.metrics
        ],
        "rules": [
            {
                "rule": v.rule.text,
                "passed": v.passed,
                "value": v.value,
                "bound": v.bound,
                "why": v.why or None,
            }
            for v in evidence.verdicts
        ],
        "rules_met": evidence.rules_met,
        "data": {
            "dataset_sha256": evidence.data.dataset_sha256 or None,
            "train_rows": evidence.data.train_rows,
            "validation_rows": evidence.data.validation_rows,
            "test_rows": evidence.data.test_rows,
        },
        "confusion_matrix": None if evidence.confusion is None else evidence.confusion.to_dict(),
    }


def _registry_url(arn: str, group: str) -> str | None:
    try:
        return links.model_registry_url(arn, group)
    except links.LinkError:
        return None


def card_document(state: CardState, audit: Sequence[AuditEntry]) -> dict[str, Any]:
    """The version's model card as JSON-able data; the field names are a stable interface."""
    view = state.view
    pkg = view.package
    validation = view.validation
    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": view.version,
        "model_package_group": pkg.group,
        "model_package_arn": pkg.arn,
        "created_at": _time(pkg.created_at),
        "approval_status": view.approval.value,
        "artifact": {"uri": pkg.artifact_uri or None, "sha256": pkg.artifact_sha256 or None},
        "git_sha": str(pkg.lineage.get("git_sha", "")) or None,
        "trained_by": str(pkg.lineage.get("requested_by", "")) or None,
        "lineage": {str(k): str(v) for k, v in sorted(pkg.lineage.items())},
        "serving": list(view.environments),
        **_evidence(state.evidence),
        "staging_validation": None
        if validation is None
        else {
            "passed": validation.passed,
            "at": _time(validation.at),
            "source": validation.source,
            "summary": validation.summary,
            "checks": [
                {"name": str(c.get("name", "")), "passed": bool(c.get("passed")), "detail": c.get("detail")}
                for c in validation.report.get("checks", [])
                if isinstance(c, Mapping)
            ],
        },
        "decision": None if view.decision is None else view.decision.to_dict(),
        "deployments": [rec.to_dict() for rec in state.deployments],
        "audit": [entry.to_dict() for entry in audit],
        "links": {"model_registry": _registry_url(pkg.arn, pkg.group)},
    }
    return doc


def _num(value: object, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{digits}f}"


def _rows(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "not recorded"


MARK = {True: "✔", False: "✘", None: "–"}


def card_markdown(doc: Mapping[str, Any]) -> str:
    """The document of :func:`card_document` as Markdown (tables, one section per part)."""
    e = md_escape
    out = [f"# Model card: {e(doc['model_package_group'])} v{doc['version']}", ""]
    out += [
        f"- **Approval**: {e(doc['approval_status'])}",
        f"- **Serving**: {e(', '.join(doc['serving']) or 'nowhere')}",
        f"- **Registered**: {e(doc['created_at'])}",
        f"- **Model package**: {e(doc['model_package_arn'])}",
        f"- **Artifact**: {e(doc['artifact']['uri'] or 'not recorded')} "
        f"(sha256 {e(doc['artifact']['sha256'] or 'not recorded')})",
        f"- **Git commit**: {e(doc['git_sha'] or 'not recorded')}",
        f"- **Trained by**: {e(doc['trained_by'] or 'unknown')}",
    ]
    if url := doc["links"]["model_registry"]:
        out.append(f"- **Registry page**: <{url}>")  # built from checked parts only (links.py)
    champion = doc["champion"]
    out += ["", "## Champion and challenger", ""]
    if champion is None or champion["version"] is None:
        out.append("No champion: production serves no model.")
    elif champion["is_this_version"]:
        out.append(f"v{doc['version']} is the champion: production serves it.")
    else:
        out.append(f"Champion: v{champion['version']}, which production serves.")
    out += ["", "| Metric | This version | Champion | Δ |", "|---|---:|---:|---:|"]
    for m in doc["metrics"]:
        delta = "—" if m["delta"] is None else f"{m['delta']:+.3f}"
        out.append(f"| {e(m['name'])} | {_num(m['value'])} | {_num(m['champion'])} | {delta} |")
    out += ["", "### Promotion rules", ""]
    for r in doc["rules"] or []:
        why = f": not judged, {e(r['why'])}" if r["passed"] is None else f" ({_num(r['value'])})"
        out.append(f"- {MARK[r['passed']]} {e(r['rule'])}{why}")
    if not doc["rules"]:
        out.append("No promotion rules configured.")
    data = doc["data"] or {}
    out += ["", "## Data", ""]
    out.append(f"- **Data set sha256**: {e(data.get('dataset_sha256') or 'not recorded')}")
    for split in ("train", "validation", "test"):
        out.append(f"- **{split.capitalize()} rows**: {_rows(data.get(f'{split}_rows'))}")
    if (matrix := doc.get("confusion_matrix")) is not None:
        out += ["", "## Confusion matrix (test split)", "", "| | Predicted negative | Predicted positive |"]
        out += ["|---|---:|---:|", f"| Actual negative | {matrix['tn']:,} | {matrix['fp']:,} |"]
        out.append(f"| Actual positive | {matrix['fn']:,} | {matrix['tp']:,} |")
    out += ["", "## Staging validation", ""]
    if (v := doc["staging_validation"]) is None:
        out.append("Not run yet.")
    else:
        out.append(
            f"{'Passed' if v['passed'] else 'Failed'} at {e(v['at'])} ({e(v['source'])}): {e(v['summary'])}"
        )
        out += [f"- {MARK[c['passed']]} {e(c['name'])}: {e(c['detail'] or '')}" for c in v["checks"]]
    out += ["", "## Decisions", ""]
    if (d := doc["decision"]) is not None:
        reason = f": {e(d['reason'])}" if d.get("reason") else ""
        out.append(f"- {e(d['status'])} by {e(d['actor_name'])} at {e(d['at'])}{reason}")
    audit = doc["audit"]
    out += [
        f"- {e(a['at'])} {e(a['actor_name'])}: {e(a['action'])} {e(a['outcome'])} {e(a['detail'])}"
        for a in audit
    ]
    if d is None and not audit:
        out.append("None recorded.")
    out += ["", "## Deployments", ""]
    for rec in doc["deployments"]:
        out.append(f"- {e(rec['at'])} {e(rec['kind'])} to {e(rec['environment'])} by {e(rec['actor_name'])}")
    if not doc["deployments"]:
        out.append("None recorded.")
    return "\n".join(out) + "\n"


def _chunks(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut at line ends where it can be."""
    out: list[str] = []
    current = ""
    for whole in text.splitlines(keepends=True):
        line = whole
        while len(line) > size:
            out.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            out.append(current)
            current = ""
        current += line
    if current:
        out.append(current)
    return out


def render_model_card(doc: Mapping[str, Any]) -> Message:
    """The chat's answer to ``/mlops card vN``: the Markdown export, in code blocks to copy."""
    title = f"Model card · v{doc['version']}"
    blocks: list[Block] = [header(title)]
    for piece in _chunks(card_markdown(doc), CHUNK):
        # inside a code block Slack shows the Markdown as written; escape() keeps &, < and > inert
        body = escape(piece).replace("```", "'''")
        blocks.append(section(f"```\n{body}```"))
    blocks.append(context(f"The same as `mlops-bot card v{doc['version']} --md`; `--json` for the fields."))
    return fallback(title), to_dicts(blocks)
