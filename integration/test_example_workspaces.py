"""The example workspaces in workspaces/ clone their sample databases as shipped: they pass
the privacy gate (every sensitive-looking column has a rule) and the leak audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MY_ADMIN, PG_ADMIN, ROOT, load_dataset, my_drop, pg_drop, unique_name

from dbclone.config import load_workspace
from dbclone.pipeline import run

EXAMPLES = ROOT / "workspaces"


def _clone(path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return run(load_workspace(path))


def test_pagila_example_passes_the_gate_and_the_audit(datasets_dir, monkeypatch) -> None:
    src = unique_name()
    try:
        load_dataset("pagila", src)
        report = _clone(EXAMPLES / "pagila_pg.yaml", {
            "PAGILA_URL": f"{PG_ADMIN}/{src}", "PAGILA_DEV_URL": f"{PG_ADMIN}/{src}_dev"},
            monkeypatch)
        assert report.plan.gate is not None and report.plan.gate.findings == []
        assert report.audit is not None and report.audit.passed
        audited = {c.column for c in report.audit.columns}
        assert {"public.customer.email", "public.address.phone"} <= audited
        assert sum(c.sampled for c in report.audit.columns) > 0
        # the two columns kept on purpose are allowed, not silently skipped
        allowed = {c.column: c.allowed for c in report.audit.columns if c.allowed}
        assert allowed == {"public.actor.first_name": "audit.allow",
                           "public.actor.last_name": "audit.allow"}
    finally:
        pg_drop(f"{src}_dev")
        pg_drop(src)


def test_chinook_example_passes_the_gate_and_the_audit(datasets_dir, monkeypatch) -> None:
    src = unique_name()
    try:
        load_dataset("chinook-mysql", src)
        report = _clone(EXAMPLES / "chinook_mysql.yaml", {
            "CHINOOK_URL": f"{MY_ADMIN}/{src}", "CHINOOK_DEV_URL": f"{MY_ADMIN}/{src}_dev"},
            monkeypatch)
        assert report.plan.gate is not None and report.plan.gate.findings == []
        assert report.audit is not None and report.audit.passed
        assert sum(c.sampled for c in report.audit.columns) > 0
    finally:
        my_drop(f"{src}_dev")
        my_drop(src)
