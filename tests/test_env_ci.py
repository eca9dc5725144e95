"""The example GitHub Actions workflow for branch databases: valid YAML, the right triggers,
the right commands, and the branch name never pasted into a script."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parent.parent / "examples" / "github-actions-branch-db.yml"


def _runs(job: dict) -> list[str]:
    return [s["run"] for s in job["steps"] if "run" in s]


def test_workflow_runs_up_on_open_and_update_and_down_on_close() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on["pull_request"]["types"]) == {"opened", "reopened", "synchronize", "closed"}
    jobs = doc["jobs"]
    assert any("dbclone env up" in r and "--output env" in r and ">> \"$GITHUB_OUTPUT\"" in r
               for r in _runs(jobs["database"]))
    # up on opened / reopened / synchronize (every event but closed), down only on closed
    assert jobs["database"]["if"] == ("github.event_name == 'pull_request' && "
                                      "github.event.action != 'closed'")
    assert jobs["teardown"]["if"] == ("github.event_name == 'pull_request' && "
                                      "github.event.action == 'closed'")
    assert not any("env down" in r for r in _runs(jobs["database"]))
    assert not any("env up" in r for r in _runs(jobs["teardown"]))
    assert jobs["test"]["needs"] == "database"
    assert jobs["test"]["env"]["DATABASE_URL"] == "${{ needs.database.outputs.url }}"
    assert jobs["database"]["outputs"]["url"] == "${{ steps.up.outputs.DATABASE_URL }}"
    assert any("dbclone env down" in r for r in _runs(jobs["teardown"]))
    assert any("dbclone env gc" in r for r in _runs(jobs["nightly"]))


def test_branch_name_reaches_scripts_only_through_the_environment() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    for job in doc["jobs"].values():
        for run in _runs(job):
            assert "github.head_ref" not in run and "${{" not in run
