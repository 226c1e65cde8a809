"""``python -m ml.pipeline_cli``: the same as ``python -m ml pipeline``."""

import sys

from ml.pipeline_cli.cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
