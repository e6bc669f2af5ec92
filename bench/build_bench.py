"""Issue 4's benchmark: duologue build against Hugo and Pelican, in one run, same posts.

    python bench/build_bench.py [--series 10] [--posts 1000] [--runs 5] [--full-runs 3]

1. Generates a fresh workspace (``bench/make_corpus.py``; 10 series x 1,000 posts
   of ~1,000 words by default) under ``bench/work/`` and converted copies of the
   same posts for Pelican (one category per series, per-category Atom and RSS
   feeds) and Hugo (one section per series, RSS per section); see ``peers.py``.
2. Times, each as a fresh subprocess (wall clock, median) with its peak RSS:
   - ``duologue build`` and ``hugo`` from clean (output folder AND build cache moved
     aside), taking turns round by round,
   - a no-op rebuild, and a rebuild after appending a sentence to one post,
   - ``pelican`` from clean (``--pelican-runs``, default 1: it takes minutes at full
     size).
   "Clean" moves the previous output into ``bench/work/trash/`` (emptied at the end)
   rather than deleting it just before the build: see ``benchlib.Trash``. ``--clean
   delete`` deletes it instead. The previous run's workspace and peer sites go there
   too, so nothing is deleted before the last build; and a run started within six
   minutes of another one's end waits until then before timing (``--settle``), as it
   would otherwise pay for that one's emptied trash.
3. Prints a Markdown table with ratios against issue 4's targets.

Use ``--series 2 --posts 50`` for a quick smoke test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import peers
from benchlib import (
    BENCH,
    WORK,
    CommandFailed,
    Sample,
    Trash,
    machine,
    measure,
    measure_rounds,
    ms,
    revision,
    settle,
    tree_peak_pss,
    venv_tool,
)

TARGETS = {
    "full_vs_hugo": 0.5,
    "full_vs_pelican": 0.1,
    "noop_vs_hugo": 0.03,
    "one_post_s": 0.5,
    "memory_vs_hugo": 0.2,
}


def snapshot(root: Path, skip: Path | None = None) -> set[str]:
    """Every path under ``root`` (relative), not descending into ``skip``."""
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if skip is not None and here == skip:
            dirs.clear()
            continue
        for name in dirs + files:
            seen.add(str((here / name).relative_to(root)))
    return seen


def mtimes(root: Path) -> dict[str, int]:
    if not root.exists():
        return {}
    return {
        str(Path(folder, name).relative_to(root)): Path(folder, name).stat().st_mtime_ns
        for folder, _, files in os.walk(root)
        for name in files
    }


def rewritten(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(1 for path, stamp in after.items() if before.get(path) != stamp)


class Duologue:
    """The generated workspace and how to reset it to 'never built'."""

    def __init__(self, workspace: Path, executable: str, trash: Trash) -> None:
        self.root = workspace
        self.trash = trash
        with (workspace / "duologue.toml").open("rb") as handle:
            self.output = workspace / tomllib.load(handle).get("output", "public")
        self.pristine = snapshot(workspace, skip=self.output)
        self.command = [executable, "build"]
        self.edits = 0
        first_series = sorted((workspace / "series").iterdir())[0]
        posts = sorted(first_series.glob("[0-9][0-9][0-9][0-9]-*.md"))
        self.edited = posts[len(posts) // 2]

    def new_paths(self) -> list[Path]:
        """What a build added outside the output folder: its cache."""
        found = []
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            if here == self.output:
                dirs.clear()
                continue
            for name in list(dirs):
                rel = str((here / name).relative_to(self.root))
                if rel not in self.pristine and here / name != self.output:
                    found.append(here / name)
                    dirs.remove(name)
            found += [
                here / n
                for n in files
                if str((here / n).relative_to(self.root)) not in self.pristine
            ]
        return found

    def clean(self) -> None:
        self.trash.discard(self.output)
        for path in self.new_paths():
            self.trash.discard(path)

    def edit_one_post(self) -> None:
        self.edits += 1
        with self.edited.open("a", encoding="utf-8") as handle:
            handle.write(f"\nOne more sentence for the benchmark, edit number {self.edits}.\n")


def has_build_command(executable: str) -> bool:
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, check=False)
    return (
        any(line.split()[:1] == ["build"] for line in result.stdout.splitlines() if line.strip())
        or "│ build" in result.stdout
    )


def timed_with_writes(
    command: list[str], cwd: Path, runs: int, output: Path, before: Callable[[], None] | None
) -> tuple[Sample, int]:
    """``measure`` plus how many output files the last run wrote."""
    sample = measure(command, cwd, runs - 1, warmup=1, before=before) if runs > 1 else Sample()
    if before:
        before()
    stamps = mtimes(output)
    last = measure(command, cwd, 1, warmup=0)
    sample.seconds += last.seconds
    sample.peak_kib += last.peak_kib
    return sample, rewritten(stamps, mtimes(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--posts", type=int, default=1000, help="posts per series")
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="runs of no-op and one-post rebuilds")
    parser.add_argument(
        "--full-runs", type=int, default=5, help="runs of duologue/Hugo full builds"
    )
    parser.add_argument("--pelican-runs", type=int, default=1)
    parser.add_argument("--skip-pelican", action="store_true")
    parser.add_argument(
        "--clean",
        choices=["move", "delete"],
        default="move",
        help="how a full build's previous output goes (default: moved aside, deleted at the end)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=360,
        help="seconds to let pass after a run's end before timing (default 360; 0: none)",
    )
    parser.add_argument("--skip-duologue", action="store_true", help="time only the peers")
    parser.add_argument(
        "--duologue",
        default=None,
        help="the duologue executable (default: the one next to this Python)",
    )
    args = parser.parse_args(argv)

    size = f"{args.series}x{args.posts}"
    workspace = WORK / f"build-{size}"
    trash = Trash(delete=args.clean == "delete")
    # The last run's workspace and peer sites are moved aside too, not deleted: deleting
    # ~30,000 files here slowed every file the first minutes of builds created.
    for old in (workspace, WORK / f"hugo-{size}", WORK / f"pelican-{size}"):
        trash.discard(old)
    print(f"generating {size} workspace in {workspace} ...", file=sys.stderr)
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "make_corpus.py"),
            str(workspace),
            "--series",
            str(args.series),
            "--posts",
            str(args.posts),
            "--words",
            str(args.words),
        ],
        check=True,
    )
    print("converting posts for Hugo and Pelican ...", file=sys.stderr)
    hugo_site = peers.make_hugo(workspace, WORK / f"hugo-{size}")
    pelican_site = (
        None if args.skip_pelican else peers.make_pelican(workspace, WORK / f"pelican-{size}")
    )

    rows: list[tuple[str, Sample, str]] = []
    duo: dict[str, Sample] = {}
    tree: dict[str, float] = {}  # peak PSS of the whole process tree, one sampled full build
    notes: list[str] = []

    settle(args.settle)
    try:
        hugo = _measure_all(args, workspace, hugo_site, pelican_site, trash, rows, duo, tree, notes)
    finally:
        trash.empty()
    pelican = next((sample for label, sample, _ in rows if label.startswith("Pelican")), None)
    _report(args, rows, duo, tree, notes, hugo, pelican)
    return 0


def _measure_all(
    args: argparse.Namespace,
    workspace: Path,
    hugo_site: Path,
    pelican_site: Path | None,
    trash: Trash,
    rows: list[tuple[str, Sample, str]],
    duo: dict[str, Sample],
    tree: dict[str, float],
    notes: list[str],
) -> Sample:
    """Fill ``rows``, ``duo``, ``tree`` and ``notes``; give Hugo's full builds."""
    hugo_command = peers.hugo_command(hugo_site)

    def clean_hugo() -> None:
        peers.clean_hugo(hugo_site, trash.discard)

    executable = args.duologue or venv_tool("duologue")
    hugo: Sample | None = None
    if args.skip_duologue:
        notes.append("duologue skipped (--skip-duologue).")
    elif has_build_command(executable):
        site = Duologue(workspace, executable, trash)
        try:
            print("duologue and hugo: full builds, taking turns ...", file=sys.stderr)
            duo["full"], hugo = measure_rounds(
                [(site.command, workspace, site.clean), (hugo_command, hugo_site, clean_hugo)],
                args.full_runs,
                warmup=1,
            )
            cache = [str(p.relative_to(workspace)) for p in site.new_paths()]
            site.clean()
            tree["duologue"] = tree_peak_pss(site.command, workspace)
            files, size_bytes = peers.tree_size(site.output)
            rows.append(
                (
                    "duologue full build (clean output and cache)",
                    duo["full"],
                    f"{files:,} files, {size_bytes / 2**20:.0f} MiB; "
                    f"tree PSS {tree['duologue']:.0f} MiB",
                )
            )
            notes.append(
                f"duologue's cache (cleaned with the output before each full build): "
                f"{', '.join(cache) or 'none found outside the output folder'}"
            )
            print("duologue: no-op rebuilds ...", file=sys.stderr)
            duo["noop"], writes = timed_with_writes(
                site.command, workspace, args.runs, site.output, None
            )
            rows.append(("duologue no-op rebuild", duo["noop"], f"{writes} files written"))
            print("duologue: one-post-changed rebuilds ...", file=sys.stderr)
            duo["one"], writes = timed_with_writes(
                site.command, workspace, args.runs, site.output, site.edit_one_post
            )
            rows.append(
                ("duologue rebuild, one post changed", duo["one"], f"{writes} files written")
            )
        except CommandFailed as error:
            notes.append(f"**duologue failed**: {error}")
    else:
        notes.append("`duologue build` does not exist yet: duologue rows skipped.")

    if hugo is None:
        print("hugo: full builds ...", file=sys.stderr)
        hugo = measure(hugo_command, hugo_site, args.full_runs, warmup=1, before=clean_hugo)
    clean_hugo()
    tree["hugo"] = tree_peak_pss(hugo_command, hugo_site)
    files, size_bytes = peers.tree_size(hugo_site / "public")
    rows.append(
        (
            "Hugo full build (clean)",
            hugo,
            f"{files:,} files, {size_bytes / 2**20:.0f} MiB; tree PSS {tree['hugo']:.0f} MiB",
        )
    )

    if pelican_site is not None:
        print("pelican: full builds (slow) ...", file=sys.stderr)
        pelican = measure(
            peers.pelican_command(pelican_site),
            pelican_site,
            args.pelican_runs,
            warmup=0,
            before=lambda: peers.clean_pelican(pelican_site, trash.discard),
        )
        files, size_bytes = peers.tree_size(pelican_site / "output")
        rows.append(
            (
                "Pelican full build (clean)",
                pelican,
                f"{files:,} files, {size_bytes / 2**20:.0f} MiB",
            )
        )

    return hugo


def _report(
    args: argparse.Namespace,
    rows: list[tuple[str, Sample, str]],
    duo: dict[str, Sample],
    tree: dict[str, float],
    notes: list[str],
    hugo: Sample,
    pelican: Sample | None,
) -> None:
    print(f"### `duologue build` vs Hugo and Pelican — {datetime.now(UTC):%Y-%m-%d}\n")
    print(
        f"Workspace: {args.series} series x {args.posts:,} posts of ~{args.words:,} words "
        f"(`bench/make_corpus.py`, seed 2026). Machine: {machine()}. "
        f"duologue at {revision()}; {peers.hugo_version()}; "
        f"Pelican {peers.pelican_version()}.\n"
    )
    print("| step | runs | median | best | peak RSS | output |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, sample, output in rows:
        print(
            f"| {label} | {sample.runs} | {ms(sample.median)} | {ms(sample.best)} "
            f"| {sample.peak_mib:.0f} MiB | {output} |"
        )
    print()
    targets: list[tuple[str, str, bool]] = []
    if "full" in duo:
        ratio = duo["full"].median / hugo.median
        limit = TARGETS["full_vs_hugo"]
        targets.append((f"full build ≤ {limit}x Hugo's", f"{ratio:.2f}x", ratio <= limit))
        if pelican is not None:
            ratio = duo["full"].median / pelican.median
            limit = TARGETS["full_vs_pelican"]
            targets.append((f"full build ≤ {limit}x Pelican's", f"{ratio:.3f}x", ratio <= limit))
    if "noop" in duo:
        ratio = duo["noop"].median / hugo.median
        limit = TARGETS["noop_vs_hugo"]
        targets.append(
            (f"no-op rebuild ≤ {limit}x Hugo's full build", f"{ratio:.4f}x", ratio <= limit)
        )
    if "one" in duo:
        limit = TARGETS["one_post_s"]
        targets.append(
            (f"one post changed ≤ {limit} s", ms(duo["one"].median), duo["one"].median <= limit)
        )
    if "duologue" in tree:
        ratio = tree["duologue"] / tree["hugo"]
        limit = TARGETS["memory_vs_hugo"]
        targets.append(
            (
                f"peak memory ≤ {limit}x Hugo's (process tree, PSS)",
                f"{ratio:.2f}x ({tree['duologue']:.0f} / {tree['hugo']:.0f} MiB)",
                ratio <= limit,
            )
        )
        peak = max(s.peak_mib for s in duo.values())
        ratio = peak / hugo.peak_mib
        targets.append(
            (
                f"peak memory ≤ {limit}x Hugo's (largest process, ru_maxrss)",
                f"{ratio:.2f}x ({peak:.0f} / {hugo.peak_mib:.0f} MiB)",
                ratio <= limit,
            )
        )
    if targets:
        print("| target (issue 4) | measured | met |")
        print("| --- | ---: | :---: |")
        for label, measured, met in targets:
            print(f"| {label} | {measured} | {'yes' if met else '**no**'} |")
        print()
    clean = (
        "deleted just before each full build"
        if args.clean == "delete"
        else "moved aside before each full build and deleted after the last run"
    )
    notes.append(
        f"Previous output and cache {clean}. duologue's and Hugo's full builds take turns, "
        "round by round, so the machine's other load falls on both alike."
    )
    notes.append(
        "Each run is a fresh subprocess; wall-clock median; one untimed warm-up "
        "before duologue's and Hugo's runs, none before Pelican's; peak RSS is the "
        "largest `ru_maxrss` (os.wait4) over the runs of that step: the largest single "
        "process, not the sum over worker processes. The process-tree memory target "
        "uses one extra, untimed full build of each, sampling the summed PSS of the "
        "whole tree every 50 ms."
    )
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    sys.exit(main())
