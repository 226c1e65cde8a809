"""Block Kit renderers: run message, release card, status, audit and help (structure in, blocks out)."""
