"""The build manifest: blobs decoded on demand, and a quick comparison of inputs."""

from __future__ import annotations

from pathlib import Path

from duologue.site.cache import Manifest, load_manifest, save_manifest


def _signatures(order: list[str]) -> dict[str, tuple[int, int, int, int]]:
    base = {"a.md": (1, 10**18, 7, 10**18 + 1), "b.md": (2, 10**18 + 5, 8, 10**18 + 6)}
    return {name: base[name] for name in order}


def test_a_manifest_round_trips_and_compares_inputs_either_way(tmp_path: Path) -> None:
    outputs = {"s/1.html": ("key", (10, 20, 30))}
    save_manifest(tmp_path, "k", Manifest("opts", _signatures(["a.md", "b.md"]), outputs, {}))

    same = load_manifest(tmp_path, "k")
    assert same.options == "opts" and same.output_count == 1
    assert same.same_inputs(_signatures(["a.md", "b.md"]))  # equal blobs
    assert same._inputs is None  # decided without decoding the stored inputs

    reordered = load_manifest(tmp_path, "k")
    assert reordered.same_inputs(_signatures(["b.md", "a.md"]))  # other blob, equal dicts

    changed = load_manifest(tmp_path, "k")
    touched = _signatures(["a.md", "b.md"])
    touched["b.md"] = (3, *touched["b.md"][1:])
    assert not changed.same_inputs(touched)
    assert not changed.same_inputs({**touched, "c.md": (1, 2, 3, 4)})
    assert changed.outputs == outputs


def test_a_damaged_manifest_is_an_empty_one(tmp_path: Path) -> None:
    save_manifest(tmp_path, "k", Manifest("opts", _signatures(["a.md"]), {}, {}))
    path = next(tmp_path.glob("manifest-*.marshal"))
    path.write_bytes(path.read_bytes()[:40])
    assert load_manifest(tmp_path, "k").options == ""
