"""Slack middleware: ``edge``, what every runtime checks before Bolt sees a request; ``roles``, roles
from Slack user groups; ``permissions``, the check of every command, button and modal against the policy.
"""
