"""``python -m runtimes.cli``: the ``mlops-bot`` command (how a detached training run restarts it)."""

from runtimes.cli.main import main

raise SystemExit(main())
