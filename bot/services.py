"""Builds the long-lived objects every runtime shares: platform, store, release core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.core.freeze_windows import parse_windows
from bot.core.identity import IdentityMap
from bot.core.records import Records
from bot.core.service import ReleaseService
from bot.core.store import Store
from bot.notify import Notifier
from bot.settings import Settings
from ml.platform import ENVIRONMENTS, MLPlatform

if TYPE_CHECKING:
    from bot.users import LocalUser


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    platform: MLPlatform
    store: Store
    release: ReleaseService
    #: the one outgoing Slack path; set by the runtime that talks to Slack
    notifier: Notifier | None = None
    #: the subscriber that turns results and platform events into Slack messages: one per services,
    #: so that one lock per message key orders every writer (set by ``handlers.notifications``)
    subscriber: Closeable | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> Services:
        """The same services: one per process, shared, never copied (the Slack app deep-copies a
        request's context, which holds them, for the work it runs after the ack)."""
        return self

    def close(self) -> None:
        if self.subscriber is not None:  # its timers first: they read the platform and write Slack
            self.subscriber.close()
        if self.notifier is not None:
            self.notifier.close()
        self.platform.close()
        self.store.close()


def build_store(settings: Settings) -> Store:
    if settings.mlops_store == "dynamodb":
        from bot.store.dynamodb import DynamoDBStore

        return DynamoDBStore(settings.mlops_dynamodb_table)
    from bot.store.sqlite import SQLiteStore

    return SQLiteStore(settings.store_path)


def build_platform(
    settings: Settings, *, host_endpoints_in_process: bool = False, store: Store | None = None
) -> MLPlatform:
    """The configured ML platform; imports only the backend in use (cold start on Lambda).

    ``store``: on SageMaker, where described model versions are remembered, so that a new process
    (a Lambda cold start) lists them without describing each again."""
    if settings.mlops_backend == "sagemaker":
        from bot.sagemaker_config import sagemaker_platform

        return sagemaker_platform(settings, Records(store) if store is not None else None)
    from ml.local import LocalPlatform
    from ml.local.capture import CaptureSettings
    from ml.local.run_limits import RunLimits
    from ml.parameters import RunPolicy

    return LocalPlatform(
        settings.mlops_home,
        model_package_group=settings.mlops_model_package_group,
        pipeline_name=settings.mlops_pipeline_name,
        host_endpoints_in_process=host_endpoints_in_process,
        rollback_alarm_names=settings.rollback_alarms,
        rollouts={env: settings.rollout_policy(env) for env in ENVIRONMENTS},
        warm_rollback=settings.warm_rollback,
        run_limits=RunLimits(settings.mlops_max_queued_runs, settings.mlops_max_runs_per_user),
        data_dir=settings.mlops_data_dir,
        policy=RunPolicy(settings.mlops_min_accuracy_threshold),
        validation_rows=settings.mlops_validation_rows,
        capture=CaptureSettings(
            percent=settings.mlops_capture_percent, max_bytes=settings.mlops_capture_max_mb * 1024 * 1024
        ),
    )


def identity_map(settings: Settings, users: Mapping[str, LocalUser] | None = None) -> IdentityMap:
    """MLOPS_PEOPLE; on the local platform, also the local users (``users.json`` is trusted there only).

    ``users``: the local users as already read (by a chat that follows edits of the file).
    """
    people = IdentityMap.from_config(settings.mlops_people)
    if settings.local_platform:
        from bot.users import load_users, local_identities

        local = users if users is not None else load_users(settings.mlops_home)
        people = local_identities(local).merged(people)
    return people


def build_services(
    settings: Settings,
    *,
    platform: MLPlatform | None = None,
    store: Store | None = None,
    host_endpoints_in_process: bool = False,
) -> Services:
    store = store or build_store(settings)
    platform = platform or build_platform(
        settings, host_endpoints_in_process=host_endpoints_in_process, store=store
    )
    release = ReleaseService(
        platform,
        store,
        four_eyes=settings.mlops_four_eyes,
        identities=identity_map(settings),
        allow_unmapped=settings.mlops_allow_unmapped,
        auto_deploy_staging=settings.mlops_auto_deploy_staging,
        auto_approve=settings.mlops_auto_approve,
        approval_rule=settings.approval_rule,
        approval_ttl=settings.approval_ttl,
        approval_reminders=settings.approval_reminders,
        freeze_windows=parse_windows(settings.mlops_freeze_windows),
        rollouts={env: settings.rollout_policy(env) for env in ENVIRONMENTS},
        rollback_alarms=settings.rollback_alarms,
    )
    return Services(settings, platform, store, release)
