"""``mlops-bot``: run the release without chat, and start the bot's runtimes.

Release commands act as a local user (``--as NAME``, or ``MLOPS_USER``) whose groups
come from ``MLOPS_HOME/users.json`` on the local platform, and as the calling AWS principal
anywhere else (``identity``); they go through the same release core as Slack, with
the same policy and audit. Exit codes: 0 done (or nothing to do),
1 refused or failed (one line on stderr says why), 2 usage or configuration error,
141 when the reader of the output went away (as after SIGPIPE); ``drift`` adds 3 (a PSI warning)
and 4 (drift found).

Modules: ``args`` (the parser), ``release`` (commands that act), ``reports`` (commands that read),
``drift`` (the drift check), ``output`` (result lines and JSON shapes), ``identity`` (who acts) and
``main`` (entry point, runtimes, exit codes).
"""

from runtimes.cli.args import RELEASE_COMMANDS, UsageError, build_parser, env_arg, key_value, version_arg
from runtimes.cli.main import main, run_runtime
from runtimes.cli.output import result_json, status_json, to_jsonable
from runtimes.cli.release import Cli, run_release_command, train_detached

__all__ = [
    "RELEASE_COMMANDS",
    "Cli",
    "UsageError",
    "build_parser",
    "env_arg",
    "key_value",
    "main",
    "result_json",
    "run_release_command",
    "run_runtime",
    "status_json",
    "to_jsonable",
    "train_detached",
    "version_arg",
]
