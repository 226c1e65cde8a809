#!/usr/bin/env bash
# Post a CI report to the bot's /ci/report, authenticated with this job's GitHub OIDC token.
#
#   report.sh pipeline_result RESULTS_JSON            # output of `python -m ml pipeline results`
#   report.sh staging_validation REPORT_JSON VERSION  # output of `python -m ml validate --output`
#
# Environment: BOT_URL (base URL of the bot), CI_OIDC_AUDIENCE (default mlops-bot), and the
# ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN that GitHub sets in jobs with `id-token: write`.
set -euo pipefail

die() { echo "report.sh: $*" >&2; exit 2; }

kind="${1:-}"
source_file="${2:-}"
[[ "$kind" == pipeline_result || "$kind" == staging_validation ]] \
  || die "first argument must be pipeline_result or staging_validation, not '${kind}'"
[[ -f "$source_file" ]] || die "no such report file: '${source_file}'"
[[ -n "${BOT_URL:-}" ]] || die "BOT_URL is not set (the repository variable MLOPS_BOT_URL)"
[[ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" && -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]] \
  || die "no OIDC token service: the job needs 'permissions: id-token: write'"
version="${3:-}"
if [[ "$kind" == staging_validation && ! "$version" =~ ^[1-9][0-9]{0,8}$ ]]; then
  die "staging_validation needs the model version as a positive number, not '${version}'"
fi

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-unknown}/actions/runs/${GITHUB_RUN_ID:-0}"

# Values reach Python as arguments, never as program text.
python3 - "$kind" "$source_file" "$version" "$run_url" "$body" <<'PY'
import json
import sys

kind, source, version, run_url, out = sys.argv[1:6]
with open(source, encoding="utf-8") as fh:
    data = json.load(fh)
if kind == "pipeline_result":
    package = data.get("model_package") or {}
    body = {
        "kind": "pipeline_result",
        "execution_arn": data["execution_arn"],
        "status": data["status"],
        "model_package_arn": package.get("arn"),
        "version": package.get("version"),
        "metrics": data.get("metrics") or {},
        "failure_reason": data.get("failure_reason"),
        "git_sha": data.get("git_sha"),
        "run_url": run_url,
    }
else:
    body = {
        "kind": "staging_validation",
        "version": int(version),
        "environment": "staging",
        "passed": bool(data["passed"]),
        "report": data,
        "run_url": run_url,
    }
with open(out, "w", encoding="utf-8") as fh:
    json.dump(body, fh)
PY

audience="${CI_OIDC_AUDIENCE:-mlops-bot}"
token="$(curl --silent --show-error --fail --max-time 30 \
  -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
  "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${audience}" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["value"])')"
[[ -n "$token" ]] || die "the OIDC token service returned no token"
echo "::add-mask::${token}"

# Timeouts and 5xx/429 are retried; the bot acts once per token (its jti), so a retry is safe.
curl --silent --show-error --fail-with-body --max-time 60 \
  --retry 4 --retry-delay 5 \
  -H "Authorization: Bearer ${token}" \
  -H "Content-Type: application/json" \
  --data-binary "@${body}" \
  "${BOT_URL%/}/ci/report"
echo
