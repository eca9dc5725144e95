"""Which workspace the ``env`` commands use when ``--workspace`` is not given.

In order: ``--workspace PATH``; the ``DBCLONE_WORKSPACE`` environment variable; the one
``*.yaml`` (or ``*.yml``) file in ``./workspaces/``. Anything else is an error that lists what
was found.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dbclone.errors import ConfigError

WORKSPACE_ENV = "DBCLONE_WORKSPACE"
WORKSPACE_DIR = "workspaces"


def find_workspace(explicit: str | None = None, *, env: Mapping[str, str] | None = None,
                   cwd: Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ if env is None else env
    if env.get(WORKSPACE_ENV):
        return Path(env[WORKSPACE_ENV])
    folder = (cwd or Path.cwd()) / WORKSPACE_DIR
    found = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError("no workspace given, DBCLONE_WORKSPACE is not set and there is no "
                          f"*.yaml in {WORKSPACE_DIR}/",
                          hint="pass --workspace PATH or set DBCLONE_WORKSPACE")
    names = ", ".join(p.name for p in found)
    raise ConfigError(f"no workspace given and {WORKSPACE_DIR}/ holds several: {names}",
                      hint="pass --workspace PATH or set DBCLONE_WORKSPACE")
