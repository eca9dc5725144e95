"""Workspace YAML -> typed, frozen config; ${ENV} interpolation; did-you-mean."""

from dbclone.config.loader import load_workspace, parse_workspace
from dbclone.config.model import GeneratorRule, WorkspaceConfig

__all__ = ["GeneratorRule", "WorkspaceConfig", "load_workspace", "parse_workspace"]
