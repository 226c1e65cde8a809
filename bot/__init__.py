"""mlops-bot's release engine: the release core, stores, notifier, settings and incoming-event parsing."""
