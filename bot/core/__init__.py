"""The release core: models, state transitions, policy and audit.

Pure on purpose: imports neither Slack nor boto3, so every front end and runtime
shares one set of rules and one audit trail.
"""

from .models import Action, Actor, Outcome, Result, Role
from .service import ReleaseService

__all__ = ["Action", "Actor", "Outcome", "ReleaseService", "Result", "Role"]
