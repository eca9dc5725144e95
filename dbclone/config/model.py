"""The workspace, as the user asked for it: typed and frozen.

Shape (see workspaces/ for examples)::

    workspace: customer-app
    source:      {url: postgresql://readonly@prod-host/app, schemas: [public]}
    destination: {url: postgresql://dev@localhost/app_dev}
    locale: en_US
    secret: ${DBCLONE_SECRET}         # optional: deterministic masking across runs
    generators:
      public.customers.email: {type: fake_email}
      public.customers.full_name: fake_name      # shorthand for {type: fake_name}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dbclone.config.privacy import AuditConfig, OnUnconfiguredField
from dbclone.config.subset import SubsetConfig, SubsetSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    url: str = Field(min_length=1)
    schemas: list[str] | None = None  # default: every non-system schema
    exclude_schemas: list[str] = Field(default_factory=list)
    # let the source compute simple generators in its own SELECT (PostgreSQL); the output
    # is the same either way, only faster
    pushdown: bool = True


class DestinationConfig(_Strict):
    url: str = Field(min_length=1)


class TemplateConfig(_Strict):
    """Branch databases (``dbclone env``): the template they are copied from, how their
    names start and how long they live. Every key is optional."""

    name: str | None = Field(default=None, min_length=1)  # default: <destination>_template
    prefix: str | None = None  # default: <destination>_
    ttl: str | None = None  # default: 72h



class WorkspaceModel(_Strict):
    workspace: str = "workspace"
    source: SourceConfig
    destination: DestinationConfig
    locale: str = "en_US"
    secret: str | None = None
    generators: dict[str, Any] = Field(default_factory=dict)
    subset: SubsetConfig | None = None
    template: TemplateConfig | None = None
    on_unconfigured: OnUnconfiguredField = "fail"  # see dbclone/config/privacy.py
    audit: AuditConfig = Field(default_factory=AuditConfig)


@dataclass(frozen=True)
class GeneratorRule:
    """One masking rule: a column name as written in YAML, a generator and its options."""

    column: str  # "schema.table.column" or "table.column", as written
    type: str
    params: dict[str, Any]
    where: str  # "file:line"


@dataclass(frozen=True)
class WorkspaceConfig:
    name: str
    path: str
    source: SourceConfig
    destination: DestinationConfig
    locale: str
    secret: str | None
    rules: tuple[GeneratorRule, ...] = field(default_factory=tuple)
    subset: SubsetSpec | None = None  # see dbclone/config/subset.py
    template: TemplateConfig | None = None
    # privacy gate (dbclone/gate): policy per schema ("default" for the rest), leak audit
    on_unconfigured: dict[str, str] = field(default_factory=lambda: {"default": "fail"})
    audit: AuditConfig = field(default_factory=AuditConfig)
