"""Fixtures for CLI tests: a committed sample workspace and a CliRunner bound to a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from duologue.cli import app
from tests.cli.workspaces import sample_workspace

Invoke = Callable[..., Result]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Series ``slow-work`` (ana, ben) with three letters: ana, ben, ana; nobody's email set."""
    return sample_workspace(tmp_path / "ws", posts=3)


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``invoke(cwd, *args, env={...})``: the Typer app in-process, run from ``cwd``."""

    def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(app, list(args), env=env)

    return run
