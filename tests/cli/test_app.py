"""The CLI as a whole: where it runs from, exit codes, error lines, help, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from duologue.cli import app
from tests.cli.conftest import Invoke
from tests.cli.workspaces import sample_workspace
from tests.helpers import run_duologue

HEAVY_MODULES = {
    "git", "gitdb", "feedgen", "cmarkgfm", "nh3", "jinja2", "yaml", "frontmatter",
}


# -- where it runs from ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("status", "--json"), ("log", "slow-work", "--json"), ("check", "--json"), ("series", "list", "--json")],
)
def test_runs_from_a_subfolder_of_the_workspace(ws: Path, invoke: Invoke, args: tuple[str, ...]) -> None:
    deep = ws / "drafts" / "slow-work" / "notes"
    deep.mkdir(parents=True)
    from_root = invoke(ws, *args)
    from_deep = invoke(deep, *args)
    assert from_root.exit_code == from_deep.exit_code == 0, from_deep.output
    assert json.loads(from_root.stdout) == json.loads(from_deep.stdout)


def test_runs_from_a_subfolder_as_a_subprocess(ws: Path) -> None:
    result = run_duologue(ws / "series" / "slow-work", "status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["series"] == "slow-work"


@pytest.mark.parametrize(
    "args",
    [("status",), ("status", "--json"), ("log", "x"), ("check",), ("check", "--json"), ("series", "list")],
)
def test_outside_any_workspace_is_a_clear_error(tmp_path: Path, invoke: Invoke, args: tuple[str, ...]) -> None:
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    result = invoke(nowhere, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: no duologue.toml in ")
    assert "duologue init" in result.stderr
    assert result.stderr.count("\n") == 1


def test_outside_any_workspace_as_a_subprocess(tmp_path: Path) -> None:
    result = run_duologue(tmp_path, "status")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no duologue.toml in ")
    assert "Traceback" not in result.stderr


# -- exit codes and error lines ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("frobnicate",),
        ("status", "--bogus"),
        ("log",),
        ("status", "a", "b"),
        ("series", "new", "x"),
        ("series", "nope"),
        ("init", "--base-url"),
    ],
)
def test_wrong_usage_exits_2(ws: Path, invoke: Invoke, args: tuple[str, ...]) -> None:
    result = invoke(ws, *args)
    assert result.exit_code == 2, result.output
    assert "Error: " in result.stderr
    assert result.stdout == ""


def test_wrong_usage_exits_2_as_a_subprocess(ws: Path) -> None:
    result = run_duologue(ws, "status", "--no-such-option")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_arguments_shows_help(ws: Path) -> None:
    result = run_duologue(ws)
    # No command at all is wrong usage: Typer's no_args_is_help prints the help and exits
    # 2 (SPEC §3: "2 wrong usage (Typer's own)"); 0 is only for an asked-for `--help`.
    assert result.returncode == 2
    assert "Usage: " in result.stdout + result.stderr
    assert "status" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("status", "nope"), "error: no series 'nope'"),
        (("log", "nope"), "error: no series 'nope'"),
        (("log", "Not A Slug"), "error: 'Not A Slug' is not a series slug"),
        (("status", "--json", "bad/../slug"), "error: 'bad/../slug' is not a series slug"),
    ],
)
def test_refusals_are_one_error_line_and_exit_1(
    ws: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = run_duologue(ws, *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(fragment), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_broken_series_toml_is_named(ws: Path) -> None:
    (ws / "series/slow-work/series.toml").write_text("title = [\n")
    result = run_duologue(ws, "status")
    assert result.returncode == 1
    assert result.stderr.startswith("error: series/slow-work/series.toml: is not valid TOML")
    assert "Traceback" not in result.stderr


def test_a_broken_duologue_toml_is_named(ws: Path) -> None:
    (ws / "duologue.toml").write_text('timezone = "Nowhere/Special"\n')
    result = run_duologue(ws, "status")
    assert result.returncode == 1
    assert result.stderr.startswith("error: duologue.toml: `timezone` 'Nowhere/Special'")


def test_duologue_debug_shows_the_traceback(ws: Path) -> None:
    result = run_duologue(ws, "status", "nope", env={"DUOLOGUE_DEBUG": "1"})
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "UnknownSeries" in result.stderr


# -- help ------------------------------------------------------------------------------------


def all_commands() -> list[tuple[list[str], object]]:
    found: list[tuple[list[str], object]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = all_commands()


def test_the_commands_of_the_spec_exist() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "series new", "series list", "status", "log", "check"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "duologue" for p, _ in COMMANDS])
def test_every_command_and_option_has_help_text(path: list[str], command: object) -> None:
    assert (getattr(command, "help", None) or "").strip(), f"{path} has no help text"
    for param in getattr(command, "params", []):
        assert (getattr(param, "help", None) or "").strip(), f"{path} {param.name} has no help text"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.stdout
    first_line = command.help.strip().splitlines()[0]  # type: ignore[attr-defined]
    assert " ".join(first_line.split()[:4]) in " ".join(result.stdout.split())


IMPORTS_AFTER = """
import runpy, sys
sys.argv = ["duologue", *sys.argv[1:]]
try:
    runpy.run_module("duologue", run_name="__main__")
except SystemExit:
    pass
sys.stderr.write("MODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


@pytest.mark.parametrize(
    "args", [("--help",), ("status", "--help"), ("series", "new", "--help"), ("check", "--help")]
)
def test_help_does_not_import_heavy_libraries(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, *args], capture_output=True, text=True, check=False
    )
    assert "Usage: " in result.stdout
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    loaded = {name.split(".")[0] for name in line.split()[1:]}
    assert "duologue" in loaded
    assert not loaded & HEAVY_MODULES, sorted(loaded & HEAVY_MODULES)





def test_version_is_shown_like_other_command_line_tools() -> None:
    from duologue import __version__

    result = run_duologue(Path.cwd(), "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"duologue {__version__}"


# -- a bare `duologue build` runs without Typer ----------------------------------------------


def _summary(text: str) -> str:
    """The build's summary line without its timing and output path."""
    return text.split(" in ")[0]


def test_a_bare_build_says_what_the_typer_command_says(tmp_path: Path, invoke: Invoke) -> None:
    """``duologue build`` alone skips Typer (duologue.cli.bare_build); with an option it goes
    through the Typer command. Same build, same line, same exit code, same errors."""
    quick_ws = sample_workspace(tmp_path / "quick", posts=3)
    typer_ws = sample_workspace(tmp_path / "typer", posts=3)
    quick = run_duologue(quick_ws, "build")
    through_typer = invoke(typer_ws, "build")
    assert quick.returncode == through_typer.exit_code == 0, quick.stderr
    assert quick.stderr == ""
    assert _summary(quick.stdout) == _summary(through_typer.stdout)
    assert quick.stdout.count("\n") == through_typer.stdout.count("\n") == 1
    assert quick.stdout.rstrip().endswith(f"→ {quick_ws / 'public'}")

    (quick_ws / "series/slow-work/series.toml").write_text("title = [\n")
    (typer_ws / "series/slow-work/series.toml").write_text("title = [\n")
    broken = run_duologue(quick_ws, "build")
    broken_through_typer = invoke(typer_ws, "build")
    assert broken.returncode == broken_through_typer.exit_code == 1
    assert broken.stdout == ""
    assert broken.stderr == broken_through_typer.stderr
    assert broken.stderr.startswith("error: series/slow-work/series.toml: is not valid TOML")

    outside = run_duologue(tmp_path, "build")
    assert outside.returncode == 1
    assert outside.stderr.startswith("error: no duologue.toml in ")
    debug = run_duologue(tmp_path, "build", env={"DUOLOGUE_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_bare_build_does_not_import_typer(ws: Path) -> None:
    first = run_duologue(ws, "build")
    assert first.returncode == 0, first.stderr
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "build"],
        cwd=ws, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.stdout.startswith("built "), result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    loaded = {name.split(".")[0] for name in line.split()[1:]}
    assert "duologue" in loaded
    assert not loaded & {"typer", "click", "rich"}, sorted(loaded & {"typer", "click", "rich"})
    with_option = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, "build", "--out", "public"],
        cwd=ws, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert with_option.stdout.startswith("built "), with_option.stderr
    assert " typer " in with_option.stderr  # any option: Typer parses it
