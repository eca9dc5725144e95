"""``dbclone env ...`` and ``dbclone template ...``: a database per branch.

Thin: each command finds the workspace, calls one function of :mod:`dbclone.envs` and prints
what it returned. Machine-readable output (URLs, ``--output env``, ``--json``) goes to stdout;
notes go to stderr, so ``dbclone env up ... --output env >> "$GITHUB_OUTPUT"`` stays clean.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from dbclone import envs
from dbclone.config import WorkspaceConfig, load_workspace
from dbclone.envs.model import iso

# Piped output (CI logs, grep) gets wide lines rather than names wrapped mid-word.
out = Console(soft_wrap=True, markup=False, highlight=False,
              width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

_WORKSPACE_HELP = ("Workspace file. Default: $DBCLONE_WORKSPACE, else the only *.yaml in "
                   "./workspaces/.")
_OUTPUTS = click.Choice(["url", "json", "env"])


def _config(workspace: str | None) -> WorkspaceConfig:
    return load_workspace(envs.find_workspace(workspace))


def _workspace_option(fn: Any) -> Any:
    return click.option("--workspace", "-w", type=click.Path(dir_okay=False),
                        help=_WORKSPACE_HELP)(fn)


def _branch_option(fn: Any) -> Any:
    return click.option("--branch", "-b", required=True,
                        help="The branch name, as git has it (any characters).")(fn)


def _output_options(fn: Any) -> Any:
    fn = click.option("--with-password", is_flag=True,
                      help="Put the password in the URL (default: left out; clients read "
                           "PGPASSWORD / MYSQL_PWD).")(fn)
    return click.option("--output", "-o", "output", type=_OUTPUTS, default="url",
                        show_default=True,
                        help="url: the URL alone; env: DATABASE_URL=... lines; json.")(fn)


def _emit(result: envs.EnvResult, output: str, with_password: bool) -> None:
    data = result.as_dict(with_password=with_password)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "env":
        click.echo(f"DATABASE_URL={data['url']}")
        click.echo(f"DATABASE_NAME={data['name']}")
    else:
        click.echo(data["url"])


def _observer() -> Any:
    from dbclone.cli import _CliObserver  # the template may have to be built first

    return _CliObserver()


@click.group("env")
def env() -> None:
    """Databases per branch, copied from the workspace's masked template."""


@env.command("up")
@_branch_option
@_workspace_option
@click.option("--ttl", help="Time to live: 90s, 30m, 72h, 7d, 2w, or never. Default: the "
                            "workspace's template.ttl, else 72h. A second up extends it.")
@_output_options
def up_cmd(branch: str, workspace: str | None, ttl: str | None, output: str,
           with_password: bool) -> None:
    """Create the branch's database from the template (building the template if there is
    none) and print its URL. Again for the same branch: the same database."""
    config = _config(workspace)
    if ttl is not None:
        envs.parse_ttl(ttl)  # a bad TTL fails before anything is built
    with _observer() as obs:
        result = envs.up(config, branch, ttl=ttl, observer=obs)
    verb = "created" if result.created else "exists:"
    rec = result.record
    err.print(f"{verb} {rec.database} (branch {branch}, template {rec.template}, "
              f"expires {iso(rec.expires) or 'never'})")
    _emit(result, output, with_password)


@env.command("url")
@_branch_option
@_workspace_option
@_output_options
def url_cmd(branch: str, workspace: str | None, output: str, with_password: bool) -> None:
    """Print the URL of the branch's database."""
    _emit(envs.url(_config(workspace), branch), output, with_password)


@env.command("reset")
@_branch_option
@_workspace_option
@_output_options
def reset_cmd(branch: str, workspace: str | None, output: str, with_password: bool) -> None:
    """Replace the branch's database by a fresh copy of the template."""
    with _observer() as obs:
        result = envs.reset(_config(workspace), branch, observer=obs)
    err.print(f"reset {result.record.database} from {result.record.template}")
    _emit(result, output, with_password)


@env.command("down")
@_branch_option
@_workspace_option
@click.option("--missing-ok", is_flag=True,
              help="Exit 0 when no database is recorded for the branch (CI clean-up).")
def down_cmd(branch: str, workspace: str | None, missing_ok: bool) -> None:
    """Drop the branch's database. Only a database dbclone created is ever dropped."""
    rec = envs.down(_config(workspace), branch, missing_ok=missing_ok)
    if rec is None:
        err.print(f"no database recorded for branch {branch}: nothing to drop")
    else:
        err.print(f"dropped {rec.database} (branch {rec.branch})")


@env.command("list")
@_workspace_option
@click.option("--all", "all_templates", is_flag=True,
              help="Every branch database on the server, whatever its template.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(workspace: str | None, all_templates: bool, as_json: bool) -> None:
    """The branch databases: name, branch, template, size, created, expires."""
    rows = envs.list_envs(_config(workspace), all_templates=all_templates)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    t = RichTable()
    for col in ("name", "branch", "template", "size", "created", "expires"):
        t.add_column(col, overflow="fold")
    for r in rows:
        name = r["name"] if r["status"] == "ready" and r["exists"] else (
            f"{r['name']} ({r['status'] if r['exists'] else 'missing'})")
        t.add_row(name, r["branch"], r["template"], _size(r["size"]), r["created"] or "",
                  r["expires"] or "never")
    out.print(t)


@env.command("gc")
@_workspace_option
@click.option("--dry-run", is_flag=True, help="Show what would be dropped; drop nothing.")
@click.option("--all", "all_templates", is_flag=True,
              help="Expired branch databases of every template on the server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def gc_cmd(workspace: str | None, dry_run: bool, all_templates: bool, as_json: bool) -> None:
    """Drop the branch databases whose time to live has run out."""
    dropped = envs.gc(_config(workspace), dry_run=dry_run, all_templates=all_templates)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run,
                               "dropped": [r.as_dict() for r in dropped]}, indent=2))
        return
    verb = "would drop" if dry_run else "dropped"
    for r in dropped:
        err.print(f"{verb} {r.database} (branch {r.branch}, expired {iso(r.expires)})")
    err.print(f"{len(dropped)} expired branch database(s) "
              f"{'would be dropped (dry run)' if dry_run else 'dropped'}")


@click.group("template")
def template() -> None:
    """The masked template that branch databases are copied from."""


@template.command("refresh")
@click.argument("workspace", required=False, type=click.Path(dir_okay=False))
@click.option("--workspace", "-w", "workspace_opt", type=click.Path(dir_okay=False),
              help="The same as the WORKSPACE argument. " + _WORKSPACE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def refresh_cmd(workspace: str | None, workspace_opt: str | None, as_json: bool) -> None:
    """Rebuild the template from the source, masked, and swap it in atomically. Branch
    databases made from the old template keep working."""
    from dbclone.cli import _print_report

    config = _config(workspace or workspace_opt)
    with _observer() as obs:
        report = envs.build_template(config, obs)
    _print_report(report, as_json)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
