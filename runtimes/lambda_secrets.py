"""Lambda's tokens: one Secrets Manager secret, read once per cold start into the environment."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import MutableMapping
from typing import Any

import boto3

from bot.settings import ConfigError

log = logging.getLogger(__name__)

#: Keys of the JSON secret that ``MLOPS_SECRETS_ARN`` names; each becomes an environment variable.
SECRET_KEYS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GITHUB_WEBHOOK_SECRET", "EVENTS_TOKEN")
#: The value the stack's secret is created with until an operator writes the real tokens.
PLACEHOLDER = "REPLACE_ME"


def load_secrets(environ: MutableMapping[str, str] | None = None, client: Any = None) -> list[str]:
    """Copy the tokens of the JSON secret ``MLOPS_SECRETS_ARN`` into ``environ``; the keys set.

    One GetSecretValue call per cold start. The secret is the source of truth on Lambda, so its
    values replace any environment variable of the same name. Placeholder values are skipped: a
    well-known string must never become a webhook or events secret.
    """
    env = os.environ if environ is None else environ
    arn = env.get("MLOPS_SECRETS_ARN", "").strip()
    if not arn:
        return []
    sm = client if client is not None else boto3.client("secretsmanager")
    try:
        response = sm.get_secret_value(SecretId=arn)
    except Exception as exc:
        raise ConfigError(f"cannot read MLOPS_SECRETS_ARN {arn}: {exc}") from exc
    text = response.get("SecretString")
    if not isinstance(text, str):
        raise ConfigError(f"secret {arn} has no SecretString (a JSON object of {', '.join(SECRET_KEYS)})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"secret {arn} is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"secret {arn} must be a JSON object of {', '.join(SECRET_KEYS)}")
    unknown = sorted(set(data) - set(SECRET_KEYS))
    if unknown:
        log.warning("secret %s: ignoring unknown key(s) %s", arn, ", ".join(unknown))
    loaded, placeholders = [], []
    for key in SECRET_KEYS:
        value = data.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ConfigError(f"secret {arn}: {key} must be a string")
        if value.strip() == PLACEHOLDER:
            placeholders.append(key)
            continue
        env[key] = value
        loaded.append(key)
    if placeholders:
        log.warning("secret %s still holds placeholders for %s", arn, ", ".join(placeholders))
    return loaded
