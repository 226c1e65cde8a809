"""Where a local run's code comes from: the git commit of the checkout that holds the ``ml`` package.

A run records it as lineage, beside who asked and on which data, so a release card can say which code
trained the model. It is read from the checkout itself, never from the caller: a parameter cannot set
it. Git runs without a shell, with a short timeout and an environment in which it cannot prompt
(no terminal, no askpass, no pager); any failure is recorded as such rather than guessed around.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

GIT_TIMEOUT_SECONDS = 5.0

#: lineage keys this module writes (``git_sha`` is the one SageMaker runs carry too)
KEY_SHA = "git_sha"
KEY_DIRTY = "git_dirty"
KEY_STATE = "git_state"

STATE_CHECKOUT = "checkout"
STATE_NOT_CHECKOUT = "not a git checkout"
STATE_NO_GIT = "git not installed"
STATE_FAILED = "git failed"

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class GitSource:
    """The commit a run's code comes from, or why there is none."""

    state: str
    sha: str = ""
    dirty: bool = False

    def lineage(self) -> dict[str, str]:
        """The run's lineage entries (strings, as registries store them)."""
        return {
            KEY_SHA: self.sha,
            KEY_DIRTY: "true" if self.dirty else "false",
            KEY_STATE: self.state,
        }


def code_root() -> Path:
    """The folder that holds the ``ml`` package this process imported."""
    import ml

    return Path(ml.__file__).resolve().parent.parent


def _environment() -> dict[str, str]:
    """Git's environment: only what it needs, and nothing that could make it wait for a person."""
    env = {name: value for name in ("PATH", "HOME", "SYSTEMROOT") if (value := os.environ.get(name))}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_PAGER="cat",
        GIT_OPTIONAL_LOCKS="0",  # `git status` must not take the index lock of someone's checkout
        LC_ALL="C",
    )
    return env


def _git(git: str, root: Path, *args: str) -> str:
    done = subprocess.run(
        [git, "-C", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_SECONDS,
        env=_environment(),
        check=True,
    )
    return done.stdout


def detect(root: Path) -> GitSource:
    """The commit checked out at ``root`` and whether the tree has uncommitted changes.

    ``root`` must be the top of the checkout: a folder that merely sits inside another project's
    repository (say, a virtualenv's site-packages) is not a checkout of this code.
    """
    git = shutil.which("git")
    if git is None:
        return GitSource(STATE_NO_GIT)
    try:
        top = _git(git, root, "rev-parse", "--show-toplevel").strip()
    except subprocess.CalledProcessError:
        return GitSource(STATE_NOT_CHECKOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("cannot ask git about %s: %s", root, exc)
        return GitSource(STATE_FAILED)
    if not top or Path(top).resolve() != root.resolve():
        return GitSource(STATE_NOT_CHECKOUT)
    try:
        sha = _git(git, root, "rev-parse", "--verify", "HEAD").strip()
        changes = _git(git, root, "status", "--porcelain")
    except subprocess.CalledProcessError:
        return GitSource(STATE_NOT_CHECKOUT)  # a repository with no commit yet
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("cannot ask git about %s: %s", root, exc)
        return GitSource(STATE_FAILED)
    if not _SHA.fullmatch(sha):
        log.warning("git named HEAD of %s %r, which is not a commit id", root, sha[:80])
        return GitSource(STATE_FAILED)
    return GitSource(STATE_CHECKOUT, sha, bool(changes.strip()))
