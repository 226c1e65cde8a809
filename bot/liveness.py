"""Whether a process named in a lock or lease still runs: the probe runtimes hand to the release core.

The core never probes processes itself; ``ReleaseService.recover`` takes this (or any) probe.
"""

from __future__ import annotations

import os
import socket


def local_owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid``) names a process on this host that no longer runs.

    Locks of other hosts are never judged dead here: they expire by their TTL.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
