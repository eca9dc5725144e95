"""A database per branch: copies of a masked template, recorded, expiring, dropped safely.

``service`` holds the verbs (up, url, reset, down, list, gc, build_template); each dialect's
``provision`` module does the server-side work behind :class:`~dbclone.envs.model.Provisioner`.
"""

from dbclone.envs.errors import (
    BadTTL,
    EnvError,
    ForeignDatabase,
    LockTimeout,
    ProvisionFailed,
    TemplateInUse,
    UnknownBranch,
)
from dbclone.envs.locate import find_workspace
from dbclone.envs.model import EnvRecord, Provisioner
from dbclone.envs.names import database_name
from dbclone.envs.service import (
    EnvResult,
    EnvTarget,
    branch_name,
    build_template,
    connection_url,
    down,
    gc,
    list_envs,
    reset,
    target,
    up,
    url,
)
from dbclone.envs.ttl import parse_ttl

__all__ = [
    "BadTTL", "EnvError", "EnvRecord", "EnvResult", "EnvTarget", "ForeignDatabase",
    "LockTimeout", "ProvisionFailed", "Provisioner", "TemplateInUse", "UnknownBranch",
    "branch_name", "build_template", "connection_url", "database_name", "down",
    "find_workspace", "gc", "list_envs", "parse_ttl", "reset", "target", "up", "url",
]
