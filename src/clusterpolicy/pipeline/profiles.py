"""Add regional profile runs to the manifest (``clusterpolicy profile CODE...``).

A profile run is the template ``notebooks/region_profile.md`` with parameter ``nuts2``, id ``region-<code>`` in
section ``Regions``. New runs are appended to ``notebooks/runs.yaml`` as text (comments and layout of the file are
kept); codes already profiled are left alone. Codes are checked against the Eurostat NUTS2 panel first.
"""

from __future__ import annotations

from pathlib import Path

from clusterpolicy.errors import UserInputError
from clusterpolicy.fsutil import atomic_write_text
from clusterpolicy.pipeline.manifest import MANIFEST_PATH, load_manifest

TEMPLATE = "region_profile.md"
SECTION = "Regions"


def profile_run_id(code: str) -> str:
    return f"region-{code.lower()}"


def add_profile_runs(root: Path, codes: list[str]) -> list[str]:
    """Append a profile run for each code not yet in the manifest; return the ids of every requested profile."""
    from clusterpolicy.data.loaders import load_rd_panel

    known = {c for c in load_rd_panel()["nuts2"] if len(c) == 4}
    wanted = [c.strip().upper() for c in codes if c.strip()]
    bad = [c for c in wanted if c not in known]
    if bad:
        raise UserInputError(f"not NUTS2 codes of data/derived/eurostat_rd_nuts2.csv: {', '.join(bad)}; use codes "
                             "such as ITC4 or AT32 (four characters, NUTS 2016)")
    manifest = load_manifest(root)
    existing = {run.id for run in manifest.runs}
    if manifest.runs[-1].section != SECTION and any(r.section == SECTION for r in manifest.runs):
        raise UserInputError(f"the '{SECTION}' section is not the last one of {MANIFEST_PATH}; move it to the end "
                             "before adding profiles")
    lines = []
    for code in dict.fromkeys(wanted):
        if profile_run_id(code) in existing:
            continue
        lines += ["", f"  - id: {profile_run_id(code)}", f"    template: {TEMPLATE}",
                  f'    title: "Profile of {code}"', f"    section: {SECTION}", "    parameters:",
                  f"      nuts2: {code}"]
    if lines:
        path = root / MANIFEST_PATH
        text = path.read_text(encoding="utf-8")
        atomic_write_text(path, text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
        load_manifest(root)  # the file must still be valid
    return [profile_run_id(c) for c in dict.fromkeys(wanted)]
