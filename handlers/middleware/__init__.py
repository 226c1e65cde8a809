"""Slack middleware: ``edge``, what every runtime checks before Bolt sees a request; ``payload_shape``,
refusing payloads Slack never sends; ``requested``, what a request asks for; ``roles``, roles from Slack
user groups; ``permissions``, the check of every command, button and modal against the policy.
"""
