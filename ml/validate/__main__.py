"""``python -m ml.validate``: the same command as ``python -m ml validate``."""

from .cli import main

raise SystemExit(main())
