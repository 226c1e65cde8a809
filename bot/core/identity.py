"""One identity per person: Slack user ids, GitHub logins, AWS principals and local names.

Every front end records who acted under its own kind of id: Slack user ids (``U0123ABC``),
local users (``UALICE``), GitHub logins (``github:octocat``) and AWS principal ARNs. The
identity map ties them to people, so that the four-eyes rule compares people, not ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "GITHUB",
    "IdentityMap",
    "Person",
    "canonical",
    "four_eyes_problem",
    "github_identity",
    "normalise_arn",
    "requester_note",
    "role_of_arn",
]

GITHUB = "github:"

#: STS and IAM principal ARNs as ``sts:GetCallerIdentity`` returns them (and IAM role ARNs).
_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>sts|iam)::(?P<account>\d{12}):"
    r"(?P<kind>assumed-role|role|user|federated-user)/(?P<rest>[\w+=,.@/-]{1,512})"
)
_GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def normalise_arn(arn: str) -> str:
    """The canonical form of a principal ARN; ValueError when it is not one.

    An assumed-role ARN keeps the role and the session name (the person behind a shared role is
    told apart by the session name); IAM users and roles lose their path, which STS never shows.
    """
    m = _ARN.fullmatch(arn.strip())
    if m is None:
        raise ValueError(
            f"{arn!r} is not an AWS principal ARN (expected arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION "
            "or arn:aws:iam::ACCOUNT:user/NAME)"
        )
    part, account, kind, rest = m["partition"], m["account"], m["kind"], m["rest"]
    if kind == "assumed-role":
        role, _, session = rest.partition("/")
        if not role or not session or "/" in session:
            raise ValueError(f"{arn!r}: an assumed-role ARN names a role and a session name")
        return f"arn:{part}:sts::{account}:assumed-role/{role}/{session}"
    if kind == "federated-user":
        return f"arn:{part}:sts::{account}:federated-user/{rest}"
    name = rest.rsplit("/", 1)[-1]
    return f"arn:{part}:iam::{account}:{kind}/{name}"


def role_of_arn(arn: str) -> str | None:
    """``arn:aws:iam::ACCOUNT:role/NAME`` for an assumed-role or role ARN; None otherwise."""
    try:
        norm = normalise_arn(arn)
    except ValueError:
        return None
    m = _ARN.fullmatch(norm)
    assert m is not None
    if m["kind"] == "assumed-role":
        return f"arn:{m['partition']}:iam::{m['account']}:role/{m['rest'].split('/', 1)[0]}"
    if m["kind"] == "role":
        return norm
    return None


def github_identity(login: str) -> str:
    login = login.strip().removeprefix(GITHUB)
    if not _GITHUB_LOGIN.fullmatch(login):
        raise ValueError(f"{login!r} is not a GitHub login")
    return GITHUB + login.lower()


def canonical(identity: str) -> str:
    """The form identities are compared in: GitHub logins lower-cased, ARNs normalised."""
    identity = identity.strip()
    if identity.startswith(GITHUB):
        return GITHUB + identity[len(GITHUB) :].lower()
    if identity.startswith("arn:"):
        try:
            return normalise_arn(identity)
        except ValueError:
            return identity
    return identity


@dataclass(frozen=True)
class Person:
    name: str
    identities: frozenset[str]
    #: user groups for front ends that cannot ask Slack (the CLI acting as an AWS principal)
    groups: tuple[str, ...] = ()


class IdentityMap:
    """People by name, and the person behind each identity; an identity names one person at most."""

    def __init__(self, people: Mapping[str, Person] | None = None) -> None:
        self.people: dict[str, Person] = dict(people or {})
        self._owner: dict[str, str] = {}
        for person in self.people.values():
            for ident in person.identities:
                if self._owner.get(ident, person.name) != person.name:
                    raise ValueError(
                        f"{ident!r} is mapped to both {self._owner[ident]!r} and {person.name!r}"
                    )
                self._owner[ident] = person.name

    @classmethod
    def from_config(cls, config: Mapping[str, Mapping[str, Iterable[str]]]) -> IdentityMap:
        """From ``{"alice": {"slack": [...], "github": [...], "aws": [...], "groups": [...]}}``."""
        people = {}
        for name, spec in config.items():
            idents = {str(s).strip() for s in spec.get("slack", ())}
            idents |= {github_identity(str(g)) for g in spec.get("github", ())}
            idents |= {normalise_arn(str(a)) for a in spec.get("aws", ())}
            people[name] = Person(name, frozenset(idents), tuple(str(g) for g in spec.get("groups", ())))
        return cls(people)

    def merged(self, other: IdentityMap) -> IdentityMap:
        """Both maps; a person named in both gets the union of identities and groups."""
        people = dict(self.people)
        for name, p in other.people.items():
            mine = people.get(name)
            people[name] = (
                p
                if mine is None
                else Person(
                    name, mine.identities | p.identities, tuple(dict.fromkeys(mine.groups + p.groups))
                )
            )
        return IdentityMap(people)

    def person_of(self, identity: str) -> Person | None:
        name = self._owner.get(canonical(identity)) if identity else None
        return None if name is None else self.people[name]


def four_eyes_problem(
    identities: IdentityMap, requester: str, approver: str, version: int, *, allow_unmapped: bool
) -> str | None:
    """Why ``approver`` may not approve a version ``requester`` trained; None when they may."""
    req, app = identities.person_of(requester), identities.person_of(approver)
    if req is not None and app is not None:
        if req.name != app.name:
            return None
        return (
            f"Four-eyes rule: *{req.name}* requested the training run of v{version} "
            f"(as `{requester}`), so someone else must approve it."
        )
    if canonical(requester) == canonical(approver):
        return (
            f"Four-eyes rule: you requested the training run of v{version}, so someone else must approve it."
        )
    if allow_unmapped:
        return None
    if req is None:
        who = f"`{requester}`" if requester else "nobody recorded"
        return (
            f"Four-eyes rule: v{version} was requested by {who}, who is not in the identity map "
            "(MLOPS_PEOPLE), so I cannot tell whether you are the same person. Ask an admin to map them."
        )
    return (
        f"Four-eyes rule: you (`{approver}`) are not in the identity map (MLOPS_PEOPLE), so I cannot "
        f"tell whether you are {req.name}, who requested v{version}. Ask an admin to map you."
    )


def requester_note(identities: IdentityMap, requester: str, allow_unmapped: bool) -> str:
    """What a card says about a requester nobody mapped; "" for one the map knows."""
    if identities.person_of(requester) is not None:
        return ""
    who = f"`{requester}`" if requester else "Nobody recorded"
    if allow_unmapped:
        return f"{who} is not in the identity map: four-eyes compares ids only for this version."
    return (
        f"{who} is not in the identity map (MLOPS_PEOPLE): nobody can approve this version "
        "until an admin maps them."
    )
