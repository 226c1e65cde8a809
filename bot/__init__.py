"""mlops-bot: the release core, the Slack app and its runtimes."""
