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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    url: str = Field(min_length=1)
    schemas: list[str] | None = None  # default: every non-system schema
    exclude_schemas: list[str] = Field(default_factory=list)


class DestinationConfig(_Strict):
    url: str = Field(min_length=1)


class SubsetConfig(_Strict):
    """Reserved for subsetting (a later release); accepted keys are validated there."""

    model_config = ConfigDict(extra="allow", frozen=True)


class WorkspaceModel(_Strict):
    workspace: str = "workspace"
    source: SourceConfig
    destination: DestinationConfig
    locale: str = "en_US"
    secret: str | None = None
    generators: dict[str, Any] = Field(default_factory=dict)
    subset: SubsetConfig | None = None


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
    subset: dict[str, Any] | None = None
