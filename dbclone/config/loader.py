"""Workspace YAML -> :class:`WorkspaceConfig`, with file:line and did-you-mean in every error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dbclone.config.model import GeneratorRule, WorkspaceConfig, WorkspaceModel
from dbclone.config.privacy import policy_map
from dbclone.config.subset import build_subset
from dbclone.config.yaml_lines import LocatedDoc, load_located, read_located
from dbclone.errors import ConfigError, did_you_mean


def load_workspace(path: str | Path, env: dict[str, str] | None = None) -> WorkspaceConfig:
    return _build(read_located(path, env))


def parse_workspace(text: str, source: str = "<workspace>",
                    env: dict[str, str] | None = None) -> WorkspaceConfig:
    return _build(load_located(text, source, env))


def _build(doc: LocatedDoc) -> WorkspaceConfig:
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{doc.where(())}: a workspace must be a YAML mapping",
                          hint="start with 'workspace: NAME', then source:, destination:")
    _check_keys(doc, doc.data, WorkspaceModel, ())
    try:
        model = WorkspaceModel.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        what = ".".join(str(p) for p in loc) or "workspace"
        msg = first["msg"]
        if first["type"] == "missing":
            hint = f"add '{loc[-1]}:' to the workspace"
            msg = "is required"
        else:
            hint = None
        raise ConfigError(f"{doc.where(loc)}: {what}: {msg}", hint=hint) from None
    if model.secret is not None:
        _refuse_literal_secret(doc)
    for side in ("source", "destination"):
        _refuse_literal_password(doc, side)
    rules = tuple(_rule(doc, key, value) for key, value in model.generators.items())
    return WorkspaceConfig(
        name=model.workspace,
        path=doc.source,
        source=model.source,
        destination=model.destination,
        locale=model.locale,
        secret=model.secret,
        rules=rules,
        subset=build_subset(doc, model.subset),
        template=model.template,
        on_unconfigured=policy_map(model.on_unconfigured),
        audit=model.audit,
    )


# ${VAR:-default} with a default: the default is written in the file
_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]+\}")


def _refuse_literal_secret(doc: LocatedDoc) -> None:
    # Interpolation has already run, so look at the raw line: a secret must come from
    # ${VAR}, never be written into a file that ends up in version control, not even as the
    # variable's default.
    line = doc.line_of(("secret",))
    raw = doc.text.splitlines()
    if not line or line > len(raw):
        return
    if "${" not in raw[line - 1]:
        raise ConfigError(f"{doc.where(('secret',))}: secret is written in the file",
                          hint="use secret: ${DBCLONE_SECRET} and set the variable")
    if _DEFAULTED.search(raw[line - 1]):
        raise ConfigError(f"{doc.where(('secret',))}: secret has a default written in the "
                          "file", hint="use secret: ${DBCLONE_SECRET} (no :-default) and set "
                                       "the variable")


# up to the last @ before the path, as URL parsers read it: "u@corp:pw@host" is user
# "u@corp" with password "pw"
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?\s'\"]*)@")
_QUERY_PASSWORD = re.compile(r"[?&]password=([^&\s'\"]*)")


def _refuse_literal_password(doc: LocatedDoc, side: str) -> None:
    # As for the secret: a password in a URL must come from ${VAR} (or the client's own
    # files, ~/.pgpass), never be written where the workspace is committed.
    line = doc.line_of((side, "url"))
    raw = doc.text.splitlines()
    if not line or line > len(raw):
        return
    text = raw[line - 1]
    written: list[str] = []
    m = _USERINFO.search(text)
    if m is not None and ":" in m.group(1):
        written.append(m.group(1).split(":", 1)[1])
    written += _QUERY_PASSWORD.findall(text)  # ?password=... is a password all the same
    for password in written:
        if password and ("${" not in password or _DEFAULTED.search(password)):
            raise ConfigError(
                f"{doc.where((side, 'url'))}: {side}.url has a password written in the file",
                hint="write it as ${A_VARIABLE} without a :-default "
                     "(postgresql://user:${DB_PASSWORD}@host/db) and set the variable, or "
                     "leave it out for PGPASSWORD / ~/.pgpass / MYSQL_PWD")


def _check_keys(doc: LocatedDoc, data: Any, model: type[BaseModel], path: tuple) -> None:
    """Reject unknown keys with did-you-mean, recursing into nested models."""
    if not isinstance(data, dict):
        return
    fields = model.model_fields
    if model.model_config.get("extra") == "allow":
        return
    for key, value in data.items():
        if key not in fields:
            hint = did_you_mean(str(key), list(fields)) or f"known keys: {', '.join(fields)}"
            raise ConfigError(f"{doc.where((*path, key))}: unknown key '{key}'", hint=hint)
        ann = fields[key].annotation
        for sub in _models_in(ann):
            _check_keys(doc, value, sub, (*path, key))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [a for a in getattr(annotation, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)]


def _rule(doc: LocatedDoc, key: str, value: Any) -> GeneratorRule:
    where = doc.where(("generators", key))
    if isinstance(value, str):
        return GeneratorRule(column=key, type=value, params={}, where=where)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: generators.{key}: expected a generator name or a mapping",
                          hint="write {type: fake_name} or just fake_name")
    if "type" not in value:
        raise ConfigError(f"{where}: generators.{key}: 'type' is required",
                          hint="run 'dbclone generators' for the list of types")
    params = {k: v for k, v in value.items() if k != "type"}
    return GeneratorRule(column=key, type=str(value["type"]), params=params, where=where)
