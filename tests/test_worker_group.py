"""A copy worker that dies without unwinding (SIGKILL, the OOM killer) must not leave its
client programs behind: the psql processes of a pipe would keep their transactions open,
the destination one waiting forever for its COMMIT or ROLLBACK. No server is needed: the
worker's copy is replaced by a child process that stands for psql."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dbclone.dialects import parse_url
from dbclone.dialects.postgresql import parallel
from dbclone.dialects.postgresql.transfer import Endpoints
from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import Table, TableRef


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not running either
        return f.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_killed_workers_client_process_is_stopped(tmp_path, monkeypatch) -> None:
    pid_file = tmp_path / "client.pid"

    def copy_then_die(_ends, _part, _progress):
        client = subprocess.Popen(["sleep", "300"])  # stands for a pipe's psql
        pid_file.write_text(str(client.pid))
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(parallel, "_copy_part", copy_then_die)
    url = parse_url("postgresql://postgres@127.0.0.1/unused")
    ends = Endpoints(source=url, snapshot_id="0", destination=url, tmp_name="unused")
    part = parallel.Part(Table(ref=TableRef("public", "people"), columns=[]), None)

    with pytest.raises(CloneFailed, match=r"copying public\.people failed: worker 1 ended"):
        parallel.run_parts(ends, [part], [], lambda *_: None, lambda *_: None, workers=1)

    client = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(client)
