"""Authenticated intake of events from outside the bot: EventBridge, GitHub webhooks and CI reports.

Slack-free on purpose: this package verifies, parses and normalises; ``handlers.events``
decides what to say in Slack. Every input is deduplicated through the store, so a
retried delivery acts once.
"""
