"""Store implementations: SQLite (container, local platform) and DynamoDB (Lambda)."""
