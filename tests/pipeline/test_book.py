"""Generated book sources: table of contents from the manifest, exhibit table, reproducibility appendix."""

from __future__ import annotations

import json
from pathlib import Path

from clusterpolicy.pipeline import book, provenance
from clusterpolicy.pipeline.exhibits import exhibit_rows, update_readme
from clusterpolicy.pipeline.manifest import load_manifest
from clusterpolicy.pipeline.runner import run_pipeline
from clusterpolicy.pipeline.verify import compare_results, verify

ROOT = Path(__file__).resolve().parents[2]


def test_toc_has_one_page_per_run_in_manifest_order() -> None:
    manifest = load_manifest(ROOT)
    toc = book.build_toc(ROOT, manifest)
    files = [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    run_pages = [f for f in files if f.startswith("book/runs/")]
    assert run_pages == [f"book/runs/{run.id}" for run in manifest.runs]
    assert "book/appendix/reproducibility" in files
    assert toc["root"] == "book/index"


def test_readme_exhibit_table_is_current() -> None:
    manifest = load_manifest(ROOT)
    assert exhibit_rows(manifest), "templates declare their exhibits"
    assert update_readme(ROOT, manifest, check=True), "run 'clusterpolicy exhibits --write'"


def test_reproducibility_appendix_lists_runs_and_checksums(tiny_project: Path) -> None:
    run_pipeline(tiny_project, only=["one"], progress=False)
    run_pipeline(tiny_project, progress=False)
    info = provenance.collect(tiny_project)
    assert info["runs"]["one"]["from_cache"] is True
    assert info["runs"]["two"]["from_cache"] is False
    assert info["runs"]["two"]["parameters"]["x"] == 2
    assert "data/input.csv" in info["data"]
    page = provenance.reproducibility_markdown(info)
    for needle in ("git commit", "requirements.lock", "`one`", "data/input.csv", info["packages"]["pandas"]):
        assert needle in page


def test_compare_results_flags_differences(tmp_path: Path) -> None:
    pub, rerun = tmp_path / "pub", tmp_path / "rerun"
    pub.mkdir(), rerun.mkdir()
    (pub / "a.json").write_text(json.dumps({"values": {"x": 1.0, "n": 3, "s": "ok", "gone": 1}}))
    (rerun / "a.json").write_text(json.dumps({"values": {"x": 1.0 + 1e-12, "n": 4, "s": "ok"}}))
    rows = {r.key: r for r in compare_results(pub, rerun)}
    assert rows["x"].ok and rows["s"].ok
    assert not rows["n"].ok
    assert not rows["gone"].ok and rows["gone"].note == "missing in rerun"


def test_verify_reproduces_published_numbers(tiny_project: Path) -> None:
    run_pipeline(tiny_project, progress=False)
    comparisons, failed = verify(tiny_project, progress=False)
    assert not failed
    assert len(comparisons) == 6 and all(c.ok for c in comparisons)
    # Tamper with a published number: verify must catch it.
    path = tiny_project / "results" / "two.json"
    doc = json.loads(path.read_text())
    doc["values"]["doubled"] = 4.5
    path.write_text(json.dumps(doc))
    comparisons, _ = verify(tiny_project, progress=False)
    assert [(c.run_id, c.key) for c in comparisons if not c.ok] == [("two", "doubled")]


def test_readme_states_the_run_count_only_where_it_is_generated() -> None:
    """The runtime section once said "19 runs" after the manifest had grown to 48: counts come from the manifest."""
    import re

    manifest = load_manifest(ROOT)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    counts = re.findall(r"\b(\d+) runs\b", text)
    assert counts == [str(len(manifest.runs))], f"README states run counts {counts}; only the generated one may stay"
