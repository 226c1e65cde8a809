"""CI reports: GitHub Actions OIDC verification and the report bodies CI may send.

A job proves who it is with its own short-lived OIDC token (no shared secret to
leak or rotate): RS256 only, signed by a key of the issuer's JWKS, for our
audience, currently valid, and from an allowed repository (and ref/environment
when those lists are set). Anything else is refused before the body is read.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.identity import github_identity
from bot.core.models import Actor
from bot.settings import Settings
from ml.platform import ExecutionStatus

if TYPE_CHECKING:
    import jwt

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
#: Clock skew tolerated between GitHub and us, in seconds.
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "nbf", "repository"]
MAX_REPORT_BYTES = 512 * 1024


class AuthError(Exception):
    """The token does not prove an allowed caller; the message says why (safe to return)."""


class VerifierUnavailable(Exception):
    """The issuer's keys could not be fetched: the caller should retry later."""


class ReportError(ValueError):
    """An invalid report body; the message lists every problem."""


@dataclass(frozen=True)
class CIIdentity:
    """Who called, from the verified claims."""

    repository: str
    subject: str
    ref: str | None = None
    environment: str | None = None
    workflow: str | None = None
    run_id: str | None = None
    sha: str | None = None
    actor: str | None = None
    jti: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def github_user(self) -> str | None:
        """``github:<login>`` of whoever set the workflow off, from the signed ``actor`` claim only."""
        try:
            return github_identity(self.actor) if self.actor else None
        except ValueError:
            return None

    def as_actor(self) -> Actor:
        """CI as it acts: the repository's workflow, on behalf of the GitHub user of the token."""
        who = f" for {self.github_user}" if self.github_user else ""
        return Actor(
            id=f"ci:{self.repository}",
            name=f"CI {self.repository}{who}",
            system=True,
            on_behalf_of=self.github_user or "",
        )


class OIDCVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str = "",
        allowed_repositories: Sequence[str] = (),
        allowed_refs: Sequence[str] = (),
        allowed_environments: Sequence[str] = (),
        leeway: int = LEEWAY_SECONDS,
        jwks_client: jwt.PyJWKClient | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("an OIDC issuer and audience are required")
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks"
        self.allowed_repositories = frozenset(r.lower() for r in allowed_repositories)
        self.allowed_refs = frozenset(allowed_refs)
        self.allowed_environments = frozenset(allowed_environments)
        self.leeway = leeway
        # PyJWT (and cryptography under it) load with the first verifier, not with every runtime.
        import jwt

        # Keys are cached; an unknown kid refetches the set at most once per cooldown.
        self.jwks = jwks_client or jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> OIDCVerifier:
        return cls(
            issuer=settings.ci_oidc_issuer,
            audience=settings.ci_oidc_audience,
            jwks_url=settings.ci_oidc_jwks_url,
            allowed_repositories=settings.ci_allowed_repositories,
            allowed_refs=settings.ci_allowed_refs,
            allowed_environments=settings.ci_allowed_environments,
        )

    def verify(self, token: str) -> CIIdentity:
        """The caller's identity; AuthError (or VerifierUnavailable) otherwise."""
        import jwt

        if not self.allowed_repositories:
            raise AuthError("no repository may report: CI_ALLOWED_REPOSITORIES is empty")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from None
        # Refuse other algorithms before touching the key set: alg "none" and HS256 signed
        # with the public key are the classic forgeries.
        if header.get("alg") not in ALGORITHMS:
            raise AuthError(f"token algorithm {header.get('alg')!r} is not accepted (RS256 only)")
        if not isinstance(header.get("kid"), str):
            raise AuthError("token header has no key id")
        try:
            key = self.jwks.get_signing_key(header["kid"])
        except jwt.PyJWKClientConnectionError as exc:
            raise VerifierUnavailable(f"cannot fetch the issuer's keys: {exc}") from None
        except jwt.PyJWKClientError:
            raise AuthError(f"unknown signing key {header['kid']!r}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"token audience is not {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise AuthError(f"token issuer is not {self.issuer!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        return self._authorise(claims)

    def _authorise(self, claims: dict[str, Any]) -> CIIdentity:
        repository = str(claims["repository"])
        if repository.lower() not in self.allowed_repositories:
            raise AuthError(f"repository {repository!r} may not report")
        ref = _claim(claims, "ref")
        if self.allowed_refs and ref not in self.allowed_refs:
            raise AuthError(f"ref {ref!r} may not report")
        environment = _claim(claims, "environment")
        if self.allowed_environments and environment not in self.allowed_environments:
            raise AuthError(f"environment {environment!r} may not report")
        return CIIdentity(
            repository=repository,
            subject=_claim(claims, "sub") or "",
            ref=ref,
            environment=environment,
            workflow=_claim(claims, "workflow"),
            run_id=_claim(claims, "run_id"),
            sha=_claim(claims, "sha"),
            actor=_claim(claims, "actor"),
            jti=_claim(claims, "jti"),
            claims=claims,
        )


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return None if value is None else str(value)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# -- report bodies ---------------------------------------------------------------------------


class _Report(BaseModel):
    # Unknown fields are ignored so that CI can add fields before the bot knows them.
    # Validators are built with the first report, not at import (Lambda init).
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True, defer_build=True)

    run_url: str | None = Field(None, max_length=2000)

    @field_validator("run_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value or None


class StagingValidation(_Report):
    kind: Literal["staging_validation"]
    version: int = Field(gt=0)
    environment: Literal["staging"] = "staging"
    passed: bool
    report: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _report_agrees(self) -> StagingValidation:
        inner = self.report.get("passed")
        if isinstance(inner, bool) and inner is not self.passed:
            raise ValueError(f"passed={self.passed} disagrees with report.passed={inner}")
        return self


class PipelineResult(_Report):
    kind: Literal["pipeline_result"]
    execution_arn: str = Field(min_length=1, max_length=2048)
    status: ExecutionStatus
    model_package_arn: str | None = Field(None, max_length=2048)
    version: int | None = Field(None, gt=0)
    metrics: dict[str, float] = Field(default_factory=dict)
    failure_reason: str | None = Field(None, max_length=4000)
    git_sha: str | None = Field(None, max_length=64)

    @property
    def execution_id(self) -> str:
        return self.execution_arn.rstrip("/").rsplit("/", 1)[-1]


CIReport = Annotated[StagingValidation | PipelineResult, Field(discriminator="kind")]


@functools.cache
def _adapter() -> TypeAdapter[StagingValidation | PipelineResult]:
    return TypeAdapter(CIReport)


def parse_report(body: bytes) -> StagingValidation | PipelineResult:
    if len(body) > MAX_REPORT_BYTES:
        raise ReportError(f"body of {len(body)} bytes exceeds {MAX_REPORT_BYTES}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise ReportError("body is nested too deeply") from None
    try:
        return _adapter().validate_python(data)
    except ValidationError as exc:
        raise ReportError(summarize_errors(exc)) from None


def summarize_errors(exc: ValidationError) -> str:
    """``version: Input should be greater than 0; passed: Field required``."""
    parts = []
    for err in exc.errors(include_url=False):
        # The discriminated union puts the tag first in the location; it only adds noise.
        loc = [str(p) for p in err["loc"] if p not in ("staging_validation", "pipeline_result")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err['msg']}")
    return "; ".join(parts)
