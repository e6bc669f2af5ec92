"""Where a ``duologue build`` spends its time: cProfile, in one process.

    python bench/profile_build.py WORKSPACE [--mode full|noop|one] [--top 30]

Worker processes are switched off (``--serial``, the default) so the profile sees
all the work; the wall time is then the sum of what the workers would share.
``--mode full`` removes the output folder and ``.git/duologue`` first; ``one``
appends a sentence to one post first (as ``build_bench.py`` does).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import shutil
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--mode", choices=["full", "noop", "one"], default="full")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--parallel", action="store_true", help="keep worker processes")
    parser.add_argument("--out", type=Path, help="also save the raw profile here")
    args = parser.parse_args(argv)

    workspace = args.workspace.resolve()
    if args.mode == "full":
        shutil.rmtree(workspace / "public", ignore_errors=True)
        shutil.rmtree(workspace / ".git" / "duologue", ignore_errors=True)
    elif args.mode == "one":
        first = sorted((workspace / "series").iterdir())[0]
        posts = sorted(first.glob("[0-9][0-9][0-9][0-9]-*.md"))
        with posts[len(posts) // 2].open("a", encoding="utf-8") as handle:
            handle.write("\nOne more sentence for the profile.\n")
    os.chdir(workspace)

    from duologue.site import pool

    if not args.parallel:
        pool.use_processes = lambda count: 0
    from duologue.cli import main as cli

    sys.argv = ["duologue", "build"]
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    with contextlib.suppress(SystemExit):
        cli()
    profile.disable()
    print(
        f"wall: {time.perf_counter() - start:.2f} s ({args.mode}, "
        f"{'parallel' if args.parallel else 'serial'})"
    )
    if args.out:
        profile.dump_stats(args.out)
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(args.top)
        print(f"\n--- by {order} ---")
        print("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
