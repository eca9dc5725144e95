"""Load YAML keeping the line of every key, and interpolate ``${VAR}`` / ``${VAR:-default}``.

Errors found later (by pydantic, or when names are resolved against the schema) point back at
``file:line`` through :class:`LocatedDoc`.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dbclone.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]


@dataclass
class LocatedDoc:
    """A parsed YAML document and the 1-based line of each path inside it."""

    data: Any
    source: str
    text: str = ""
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def where(self, path: Path_) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


def interpolate(text: str, *, where: str, env: dict[str, str] | None = None,
                url: bool = False, secret: bool = False) -> str:
    """``${VAR}`` and ``${VAR:-default}`` replaced from the environment. In a ``url``, a
    variable in the user:password part is percent-encoded, so a password holding '@', ':',
    '/' or '%' is taken as it is (never read as the host, a path or an escape)."""
    env = os.environ if env is None else env
    userinfo = _userinfo_span(text) if url else None

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            value = env[name]
        elif default is not None:
            value = default
        else:
            in_userinfo = (userinfo is not None and userinfo[0] <= m.start()
                           and m.end() <= userinfo[1])
            # a default would be a secret written in the file: not suggested for one
            hint = (f"export {name}=..." if secret or in_userinfo
                    else f"export {name}=... or write ${{{name}:-default}}")
            raise ConfigError(f"{where}: environment variable {name} is not set", hint=hint)
        if userinfo is not None and userinfo[0] <= m.start() and m.end() <= userinfo[1]:
            return urllib.parse.quote(value, safe="")
        return value

    return _VAR.sub(sub, text)


def _userinfo_span(text: str) -> tuple[int, int] | None:
    """Where ``user:password`` is in a URL as written (before substitution), if it has one."""
    start = text.find("://")
    if start < 0:
        return None
    start += 3
    ends = [i for i in (text.find("/", start), text.find("?", start)) if i >= 0]
    end = min(ends) if ends else len(text)
    at = text.rfind("@", start, end)
    return (start, at) if at >= 0 else None


def load_located(text: str, source: str, env: dict[str, str] | None = None) -> LocatedDoc:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}",
                          hint="check indentation and quoting near that line") from None
    doc = LocatedDoc(data=None, source=source, text=text)
    if root is None:
        doc.data = {}
        return doc
    doc.data = _convert(root, (), doc, env)
    return doc


def _convert(node: yaml.Node, path: Path_, doc: LocatedDoc, env: dict[str, str] | None) -> Any:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_construct(key_node))
            if key in out:
                raise ConfigError(
                    f"{source_line(doc, key_node)}: duplicate key '{key}'",
                    hint="each key may appear once in a mapping",
                )
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, key), doc, env)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), doc, env) for i, v in enumerate(node.value)]
    value = _construct(node)
    if isinstance(value, str) and "${" in value:
        value = interpolate(value, where=source_line(doc, node), env=env,
                            url=bool(path) and path[-1] == "url", secret=path == ("secret",))
    return value


def _construct(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def source_line(doc: LocatedDoc, node: yaml.Node) -> str:
    return f"{doc.source}:{node.start_mark.line + 1}"


def read_located(path: str | Path, env: dict[str, str] | None = None) -> LocatedDoc:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: workspace file not found",
                          hint="give the path to a workspace YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read workspace file: {exc.__class__.__name__}") from None
    return load_located(text, str(p), env)
