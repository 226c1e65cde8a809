"""One identity per person: the identity map, and four-eyes comparing people rather than ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.identity import IdentityMap, four_eyes_problem, normalise_arn, role_of_arn
from bot.core.models import Actor, Outcome, Role
from bot.core.service import ReleaseService
from bot.services import build_services
from bot.settings import ConfigError, load_settings
from bot.store.sqlite import SQLiteStore
from handlers.render.release_card import CardState, render_card
from ml.local import LocalPlatform
from tests.conftest import BOB

PEOPLE = {
    "dana": {
        "slack": ["U0DANA01"],
        "github": ["Dana-GH"],
        "aws": ["arn:aws:sts::123456789012:assumed-role/Dev/dana"],
    },
    "bob": {"slack": ["UBOB"]},
}


def test_arns_are_normalised_to_role_and_session() -> None:
    assumed = "arn:aws:sts::123456789012:assumed-role/Dev/dana"
    assert normalise_arn(assumed) == assumed
    assert normalise_arn("arn:aws:iam::123456789012:user/team/erin") == "arn:aws:iam::123456789012:user/erin"
    assert role_of_arn(assumed) == "arn:aws:iam::123456789012:role/Dev"
    assert role_of_arn("arn:aws:iam::123456789012:role/ci/Deploy") == "arn:aws:iam::123456789012:role/Deploy"
    for bad in ("dana", "arn:aws:sts::123456789012:assumed-role/Dev", "arn:aws:s3:::bucket/key"):
        with pytest.raises(ValueError, match="ARN"):
            normalise_arn(bad)


def test_every_identity_of_a_person_maps_to_them() -> None:
    people = IdentityMap.from_config(PEOPLE)
    for ident in (
        "U0DANA01",
        "github:dana-gh",
        "github:DANA-GH",
        "arn:aws:sts::123456789012:assumed-role/Dev/dana",
    ):
        person = people.person_of(ident)
        assert person is not None and person.name == "dana", ident
    assert people.person_of("github:bob") is None
    assert people.person_of("arn:aws:sts::123456789012:assumed-role/Dev/bob") is None  # other session


def test_one_identity_cannot_belong_to_two_people() -> None:
    with pytest.raises(ConfigError, match="mapped to both"):
        load_settings(mlops_people={"a": {"slack": ["U1"]}, "b": {"slack": ["U1"]}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['email'\]"):
        load_settings(mlops_people='{"a": {"email": ["a@example.com"]}}')
    with pytest.raises(ConfigError, match="not an AWS principal ARN"):
        load_settings(mlops_people={"a": {"aws": ["alice"]}})
    with pytest.raises(ConfigError, match="not an IAM role ARN"):
        load_settings(mlops_ci_role_arns="arn:aws:iam::123456789012:user/ci")


def test_four_eyes_compares_people_across_front_ends() -> None:
    people = IdentityMap.from_config(PEOPLE)
    same = four_eyes_problem(people, "github:dana-gh", "U0DANA01", 3, allow_unmapped=False)
    assert same is not None and "*dana*" in same and "github:dana-gh" in same
    assert four_eyes_problem(people, "github:dana-gh", "UBOB", 3, allow_unmapped=False) is None
    unmapped = four_eyes_problem(people, "github:stranger", "UBOB", 3, allow_unmapped=False)
    assert unmapped is not None and "`github:stranger`" in unmapped and "not in the identity map" in unmapped
    assert four_eyes_problem(people, "github:stranger", "UBOB", 3, allow_unmapped=True) is None
    # an approver nobody mapped could be the requester under another name
    approver = four_eyes_problem(people, "U0DANA01", "UNOBODY", 3, allow_unmapped=False)
    assert approver is not None and "you (`UNOBODY`)" in approver and "dana" in approver
    # opting out still refuses the very same id
    assert four_eyes_problem(people, "UNOBODY", "UNOBODY", 3, allow_unmapped=True) is not None


@pytest.fixture
def core(release_home: Path) -> Iterator[tuple[LocalPlatform, SQLiteStore]]:
    platform = LocalPlatform(release_home, host_endpoints_in_process=True)
    store = SQLiteStore(release_home / "bot.db")
    try:
        yield platform, store
    finally:
        platform.close()
        store.close()


def test_unmapped_requester_blocks_approval_and_says_so_on_the_card(
    core: tuple[LocalPlatform, SQLiteStore],
) -> None:
    platform, store = core
    # v2 was trained by UALICE, whom this map does not know
    release = ReleaseService(
        platform, store, identities=IdentityMap.from_config(PEOPLE), auto_deploy_staging=False
    )
    view = release.view(2)
    assert "`UALICE` is not in the identity map" in view.requester_note
    _, blocks = render_card(CardState(view))
    assert "UALICE` is not in the identity map" in str(blocks)
    before = platform.describe_model_package(2).approval_status
    result = release.approve(BOB, 2)
    assert result.outcome is Outcome.REFUSED and "not in the identity map" in result.message
    assert platform.describe_model_package(2).approval_status is before
    assert release.records.decision(2) is None

    opted_out = ReleaseService(
        platform,
        store,
        identities=IdentityMap.from_config(PEOPLE),
        allow_unmapped=True,
        auto_deploy_staging=False,
    )
    assert opted_out.approve(BOB, 2).outcome is Outcome.DONE


def test_services_map_local_users_only_on_the_local_platform(release_home: Path) -> None:
    services = build_services(
        load_settings(mlops_home=release_home, mlops_people=PEOPLE, mlops_auto_deploy_staging=False)
    )
    try:
        alice = services.release.identities.person_of("UALICE")
        assert alice is not None and alice.name == "alice" and alice.groups == ("ml-team",)
        assert services.release.allow_unmapped is False
        dana = Actor("U0DANA01", "dana", frozenset({Role.APPROVER}))
        result = services.release.approve(dana, 2)
        assert result.outcome is Outcome.DONE, result.message  # alice trained v2; dana is someone else
    finally:
        services.close()
    aws = load_settings(mlops_home=release_home, mlops_people=PEOPLE, mlops_store="dynamodb")
    assert not aws.local_platform
