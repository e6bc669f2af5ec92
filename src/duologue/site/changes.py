"""Which series a rebuild builds, decided from the last build's manifest alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.site.writer import holds

if TYPE_CHECKING:
    from duologue.site import cache as build_cache
    from duologue.site.load import InputScan, Signature


def in_scope(series: set[str] | None) -> Callable[[str], bool]:
    """Which of the last build's files this build answers for: all (``None``), or those
    of ``series``; the others stay as the manifest has them."""
    if series is None:
        return lambda _relpath: True
    return lambda relpath: relpath.partition("/")[0] in series


def changed_series(
    scan: InputScan,
    signatures: dict[str, Signature],
    options: str,
    manifest: build_cache.Manifest,
    out_dir: Path,
    outputs_held: bool,
) -> set[str] | None:
    """The series whose inputs or output files changed, and those whose ``[[other#N]]``
    references point into them: all a rebuild needs to build, unless the site index or
    the site feed changes too (``duologue.site.site_wide.shows_site_wide``). None when this cannot be decided
    from the manifest — other options, another workspace setting or template, a series
    added or removed, a touched site-wide file: then every series is built."""
    if manifest.options != options or set(manifest.series) != set(scan.series):
        return None
    old_by_series: dict[str, dict[str, Signature]] = {slug: {} for slug in scan.series}
    new_by_series: dict[str, dict[str, Signature]] = {slug: {} for slug in scan.series}
    for source, grouped in ((manifest.inputs, old_by_series), (signatures, new_by_series)):
        for relpath, signature in source.items():
            if relpath.startswith("series/"):
                group = grouped.get(relpath.split("/", 2)[1])
                if group is None:
                    return None
                group[relpath] = signature
            elif manifest.inputs.get(relpath) != signature or relpath not in signatures:
                return None  # duologue.toml, a template or the package changed
    changed = {slug for slug in scan.series if old_by_series[slug] != new_by_series[slug]}
    dirty = set(changed)
    prefix = f"{out_dir}{os.sep}"
    # Which series have touched output files, unless the no-op check found none.
    for relpath, (_key, stamp) in () if outputs_held else manifest.outputs.items():
        if not holds(prefix + relpath, stamp):
            slug, slash, _rest = relpath.partition("/")
            if not slash or slug not in new_by_series:
                return None  # a site-wide file was touched
            dirty.add(slug)
    for slug, state in manifest.series.items():
        if changed.intersection(state.references):
            dirty.add(slug)  # its references show titles and URLs of a changed series
    return dirty or None
