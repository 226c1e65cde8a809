"""Closing the SQLite store while other threads use it: they finish or reconnect, nothing crashes.

sqlite3 frees a connection's statements when it is closed, so a close() racing a statement in another
thread used to crash the interpreter (a segmentation fault, not an exception). The race runs in a child
process, so that a crash fails this test instead of taking the test worker down with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.store.sqlite import SQLiteStore
from tests import paths

_RACE = """
import json, sys, threading
from pathlib import Path
from bot.store.sqlite import SQLiteStore

store = SQLiteStore(Path(sys.argv[1]))
stop = threading.Event()
written = [0, 0, 0]

def hammer(i):
    while not stop.is_set():
        n = written[i]
        store.put("ns", f"w{i}-{n}", {"n": n})
        assert store.get("ns", f"w{i}-{n}") == {"n": n}
        store.query("ns", f"w{i}-", limit=5, newest_first=True)
        written[i] = n + 1

threads = [threading.Thread(target=hammer, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
closes = 0
while closes < 3000 and all(t.is_alive() for t in threads):
    store.close()
    closes += 1
stop.set()
for t in threads:
    t.join()
print(json.dumps({"closes": closes, "written": written}))
"""


def test_closing_while_other_threads_read_and_write_loses_and_crashes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    proc = subprocess.run(
        [sys.executable, "-c", _RACE, str(db)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=paths.ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]  # -11 was the crash
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["closes"] == 3000, report  # no thread died on an error meanwhile
    assert all(n > 0 for n in report["written"]), report
    store = SQLiteStore(db)
    try:
        for i, n in enumerate(report["written"]):
            assert [k for k, _ in store.query("ns", f"w{i}-")] == sorted(f"w{i}-{j}" for j in range(n))
    finally:
        store.close()
