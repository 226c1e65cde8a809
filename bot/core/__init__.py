"""The release core: models, state transitions, policy and audit.

Pure on purpose: imports neither Slack nor boto3 and probes no processes, so every front
end and runtime shares one set of rules and one audit trail.

- ``service``: ``ReleaseService``, the one entry point; ``base``: what every operation shares
- ``queries`` (status, history, audit, rollback plans), ``approvals`` (decisions, four-eyes,
  outside and automatic approvals), ``switches`` (deploy, promote, rollback, environment locks),
  ``validation`` (staging reports), ``recovery`` (switches left half-way), ``rollouts``
  (updates the platform undid), ``rollout_controls`` (a running rollout stopped or finished by a
  person, warm standbys retired)
- ``models``, ``policy``, ``identity``, ``records`` and ``store``: data, roles, people, persistence
"""

from .models import Action, Actor, Outcome, Result, Role
from .service import ReleaseService

__all__ = ["Action", "Actor", "Outcome", "ReleaseService", "Result", "Role"]
