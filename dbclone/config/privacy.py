"""The workspace keys of the privacy gate::

    on_unconfigured: fail            # or mask | null | keep; or per schema:
    on_unconfigured: {default: fail, audit_log: keep}
    audit:
      sample: 1000                   # source values sampled per audited column
      allow: [public.organization.phone]   # columns whose source values may reach the copy
      enabled: true                  # clone --no-audit turns it off for one run

``on_unconfigured`` decides what happens to a column the workspace does not mention when it
looks sensitive, or is new since ``dbclone init`` recorded the schema: ``fail`` stops the run
before any data moves (the default), ``mask`` applies the suggested generator, ``null``
writes NULL, ``keep`` copies it as it is. Every such column is reported either way.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

POLICIES = ("fail", "mask", "null", "keep")
DEFAULT_SAMPLE = 1000
DEFAULT_SCAN_ROWS = 50_000


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    sample: int = Field(default=DEFAULT_SAMPLE, ge=1, le=1_000_000)
    allow: list[str] = Field(default_factory=list)
    # rows of each table of the copy that the audit reads besides those of the sampled keys
    # (0: every row); a random sample of big tables where the database can take one cheaply
    # (PostgreSQL), else the first
    scan_rows: int = Field(default=DEFAULT_SCAN_ROWS, ge=0)


OnUnconfigured = str | dict[str, str]


def check_policy(value: OnUnconfigured) -> OnUnconfigured:
    """'fail' or {schema: policy, default: policy}, every policy one of POLICIES."""
    items = value.items() if isinstance(value, dict) else [("", value)]
    for key, policy in items:
        if policy not in POLICIES:
            where = f"{key}: " if key else ""
            raise ValueError(f"{where}'{policy}' is not one of {', '.join(POLICIES)}")
    return value


def policy_map(value: OnUnconfigured) -> dict[str, str]:
    """The policy per schema, with 'default' for every other schema."""
    if isinstance(value, dict):
        return {"default": "fail", **{str(k): str(v) for k, v in value.items()}}
    return {"default": str(value)}


# The type of WorkspaceModel.on_unconfigured: checked when the workspace is loaded.
OnUnconfiguredField = Annotated[OnUnconfigured, AfterValidator(check_policy)]
