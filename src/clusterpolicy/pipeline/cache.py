"""Deciding whether a run is stale.

A run's *key* is a SHA-256 over everything that can change its output: the template file, its resolved
parameters, every committed input data file, the ``src/clusterpolicy`` package, the lock file and the keys of the
runs whose results it reads (its template's ``reads_results_of``). After a
successful run the key and checksums of its outputs are stored in ``.cache/runs/<id>.json``. A run is fresh only
if that record has ``status == "ok"``, the same key, and outputs on disk whose checksums still match, so an
interrupted or tampered run is re-executed rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clusterpolicy.errors import ManifestError
from clusterpolicy.fsutil import atomic_write_json, sha256_file
from clusterpolicy.pipeline.manifest import Manifest, Run

CACHE_DIR = Path(".cache") / "runs"
LOCK_FILE = "requirements.lock"
# Data that notebooks read; generated or bulky folders are left out on purpose.
INPUT_DIRS = ("data",)
CODE_DIR = Path("src") / "clusterpolicy"


@dataclass(frozen=True)
class Layout:
    """Where a run's files live, relative to the project root."""

    root: Path

    def executed_notebook(self, run_id: str) -> Path:
        return self.root / "book" / "runs" / f"{run_id}.ipynb"

    def results(self, run_id: str) -> Path:
        return self.root / "results" / f"{run_id}.json"

    def failed_notebook(self, run_id: str) -> Path:
        return self.root / "_build" / "failed" / f"{run_id}.ipynb"

    def state(self, run_id: str) -> Path:
        return self.root / CACHE_DIR / f"{run_id}.json"

    def exhibits(self, run_id: str) -> Path:
        return self.root / "_build" / "exhibits" / run_id


def _files_under(root: Path, rel: Path, pattern: str = "*") -> list[Path]:
    base = root / rel
    if not base.exists():
        return []
    return sorted(p for p in base.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def input_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every input data file, keyed by path relative to the root."""
    files: list[Path] = []
    for rel in INPUT_DIRS:
        files += _files_under(root, Path(rel))
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def environment_digest(root: Path) -> str:
    """Digest of what every run shares: input data, the package source and the lock file."""
    digest = hashlib.sha256()
    entries = list(input_checksums(root).items())
    entries += [(p.relative_to(root).as_posix(), sha256_file(p)) for p in _files_under(root, CODE_DIR, "*.py")]
    lock = root / LOCK_FILE
    if lock.exists():
        entries.append((LOCK_FILE, sha256_file(lock)))
    for name, value in sorted(entries):
        digest.update(f"{name}\0{value}\n".encode())
    return digest.hexdigest()


def run_key(run: Run, env_digest: str, upstream: dict[str, str] | None = None) -> str:
    """The cache key of one run; ``upstream`` maps the ids of the runs whose results it reads to their keys, so
    that a change in any of them (or a run added or removed) makes this one stale too."""
    digest = hashlib.sha256()
    digest.update(run.template.path.read_bytes())
    digest.update(json.dumps(run.resolved_parameters(), sort_keys=True, default=str).encode())
    digest.update(env_digest.encode())
    if upstream:
        digest.update(json.dumps(upstream, sort_keys=True).encode())
    return digest.hexdigest()


def manifest_keys(manifest: Manifest, env_digest: str) -> dict[str, str]:
    """The cache key of every run of the manifest, upstream runs' keys folded into their readers' keys."""
    keys: dict[str, str] = {}

    def key(run: Run, seen: tuple[str, ...]) -> str:
        if run.id not in keys:
            if run.id in seen:
                raise ManifestError(f"{manifest.path.name}: runs {' -> '.join((*seen, run.id))} read each other's "
                                    "results in a cycle; remove one template from another's reads_results_of")
            upstream = {up.id: key(up, (*seen, run.id)) for up in manifest.upstream(run)}
            keys[run.id] = run_key(run, env_digest, upstream)
        return keys[run.id]

    for run in manifest.runs:
        key(run, ())
    return keys


def read_state(layout: Layout, run_id: str) -> dict[str, Any] | None:
    path = layout.state(run_id)
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        # A missing or unreadable record means "not known to be fresh": the run executes again.
        return None


def write_state(layout: Layout, run_id: str, state: dict[str, Any]) -> None:
    atomic_write_json(layout.state(run_id), state)


def output_checksums(layout: Layout, run_id: str) -> dict[str, str] | None:
    paths = {"notebook": layout.executed_notebook(run_id), "results": layout.results(run_id)}
    if not all(p.exists() for p in paths.values()):
        return None
    return {name: sha256_file(p) for name, p in paths.items()}


def is_fresh(layout: Layout, run: Run, key: str) -> bool:
    """True if the run's recorded key matches and its outputs are intact."""
    state = read_state(layout, run.id)
    if not state or state.get("status") != "ok" or state.get("key") != key:
        return False
    return output_checksums(layout, run.id) == state.get("outputs")
