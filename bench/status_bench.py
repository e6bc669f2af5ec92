"""Issue 2's benchmark: ``duologue status`` on a small and a large workspace, and start-up.

    python bench/status_bench.py [--runs 15] [--series 10] [--posts 1000]

Times, as real subprocesses (warm: one untimed run first, then the median of
``--runs``):

- ``duologue status --as HANDLE`` on the bundled sample workspace (the
  repository root, when it holds ``duologue.toml`` and ``series/``; otherwise a
  generated 1 series x 5 posts workspace) and on a generated 10 series x 1,000
  posts workspace. ``--as`` keeps git out of the measurement.
- ``duologue --help`` against ``python -c "import typer"`` (and a bare
  ``python -c pass`` for the interpreter's own start-up).

It also checks that ``duologue --help`` imports neither GitPython, feedgen nor
a Markdown renderer. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from benchlib import REPO, WORK, Sample, ensure_corpus, machine, measure, revision, venv_tool

HEAVY = ("git", "feedgen", "cmarkgfm", "nh3", "jinja2", "frontmatter", "yaml")
IMPORT_PROBE = """
import sys
sys.argv = ["duologue", "--help"]
from duologue.cli import main
try:
    main()
except SystemExit:
    pass
import json
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)), file=sys.stderr)
"""


def first_handle(workspace: Path) -> str:
    for toml in sorted((workspace / "series").glob("*/series.toml")):
        with toml.open("rb") as handle:
            authors = tomllib.load(handle).get("authors", [])
        if authors:
            return str(authors[0]["handle"])
    return "nobody"


def small_workspace() -> tuple[Path, str]:
    if (REPO / "duologue.toml").is_file() and (REPO / "series").is_dir():
        count = len(list((REPO / "series").glob("*/[0-9][0-9][0-9][0-9]-*.md")))
        return REPO, f"bundled sample ({count} posts)"
    return ensure_corpus(WORK / "corpus-1x5", 1, 5), "generated 1 series x 5 posts"


def heavy_imports() -> list[str]:
    probe = IMPORT_PROBE.format(heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "[]"
    return list(json.loads(last))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--posts", type=int, default=1000)
    args = parser.parse_args(argv)

    duologue = venv_tool("duologue")
    small, small_label = small_workspace()
    large = ensure_corpus(WORK / f"corpus-{args.series}x{args.posts}", args.series, args.posts)
    large_label = f"generated {args.series} series x {args.posts:,} posts"

    rows: list[tuple[str, Sample]] = []
    for label, workspace in ((small_label, small), (large_label, large)):
        command = [duologue, "status", "--as", first_handle(workspace)]
        rows.append((f"`duologue status --as …` — {label}", measure(command, workspace, args.runs)))
    python = sys.executable
    rows.append(("`python -c pass`", measure([python, "-c", "pass"], REPO, args.runs)))
    rows.append(
        ('`python -c "import typer"`', measure([python, "-c", "import typer"], REPO, args.runs))
    )
    rows.append(("`duologue --help`", measure([duologue, "--help"], REPO, args.runs)))

    status_small, status_large = rows[0][1], rows[1][1]
    typer_only, help_ = rows[3][1], rows[4][1]
    heavy = heavy_imports()

    print(f"### `duologue status` and start-up — {datetime.now(UTC):%Y-%m-%d}\n")
    print(
        f"duologue at {revision()}. Machine: {machine()}. Median of {args.runs} warm runs (1 warm-up), subprocess.\n"
    )
    print("| command | median | best |")
    print("| --- | ---: | ---: |")
    for label, sample in rows:
        print(f"| {label} | {sample.median * 1000:.0f} ms | {sample.best * 1000:.0f} ms |")
    print()
    print(
        f"- status, large / small: {status_large.median / status_small.median:.2f}x "
        f"({(status_large.median - status_small.median) * 1000:+.0f} ms)"
    )
    print(
        f"- `duologue --help` minus `import typer`: "
        f"{(help_.median - typer_only.median) * 1000:+.0f} ms "
        f"({help_.median / typer_only.median:.2f}x)"
    )
    print(
        f"- heavy modules imported by `duologue --help`: {', '.join(heavy) or 'none'} "
        f"(checked: {', '.join(HEAVY)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
