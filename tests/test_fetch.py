"""Tests of the full-data download (no real network: pooch.retrieve is replaced)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pooch
import pytest
import requests

from clusterpolicy.cli.main import run_cli
from clusterpolicy.data import fetch as fetch_mod
from clusterpolicy.errors import OfflineError, UserInputError


def _offline(**kwargs):
    raise requests.exceptions.ConnectionError("Failed to resolve 'cordis.europa.eu'")


def test_offline_raises_one_sentence(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pooch, "retrieve", _offline)
    with pytest.raises(OfflineError, match=r"cannot download cordis-h2020projects-csv.zip from "
                                           r"https://cordis.europa.eu/data/.*network is unreachable") as err:
        fetch_mod.fetch(["h2020"], tmp_path)
    assert "\n" not in str(err.value)


def test_offline_cli_prints_one_line_and_exits_2(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(pooch, "retrieve", _offline)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "fetch", "--cache", str(tmp_path), "--no-progress"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download cordis-fp7projects-csv.zip") and err.count("\n") == 1
    assert "Traceback" not in err


def test_fetch_passes_pinned_registry_to_pooch(monkeypatch, tmp_path: Path, caplog) -> None:
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path), progressbar))
        target = Path(path) / fname
        target.write_bytes(b"zip bytes")
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with caplog.at_level(logging.INFO, logger="clusterpolicy.data.fetch"):
        paths = fetch_mod.fetch(None, tmp_path / "cache", progressbar=False)
    assert list(paths) == ["fp7", "h2020", "horizon"]
    assert [c[0] for c in calls] == [
        "https://cordis.europa.eu/data/cordis-fp7projects-csv.zip",
        "https://cordis.europa.eu/data/cordis-h2020projects-csv.zip",
        "https://cordis.europa.eu/data/cordis-HORIZONprojects-csv.zip",
    ]
    assert all(c[1] is None and c[3] == tmp_path / "cache" and c[4] is False for c in calls)
    # Unpinned checksum: the hash of what was downloaded is logged so it can be recorded.
    assert "not pinned" in caplog.text and len(caplog.records) == 3
    assert hashlib.sha256(b"zip bytes").hexdigest() in caplog.text


def test_unknown_dataset_and_default_cache(monkeypatch, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="unknown dataset\\(s\\) fp6; choose from fp7, h2020, horizon"):
        fetch_mod.fetch(["fp6"], tmp_path)
    monkeypatch.setenv(fetch_mod.CACHE_ENV, str(tmp_path / "c"))
    assert fetch_mod.default_cache() == tmp_path / "c"
    monkeypatch.delenv(fetch_mod.CACHE_ENV)
    assert fetch_mod.default_cache() == Path("~/.cache/clusterpolicy").expanduser()


def test_http_error_names_the_url(monkeypatch, tmp_path: Path) -> None:
    def gone(**kwargs):
        raise requests.exceptions.HTTPError("404 Client Error: Not Found")

    monkeypatch.setattr(pooch, "retrieve", gone)
    with pytest.raises(UserInputError, match="the server refused https://cordis.europa.eu/data/cordis-HORIZON"):
        fetch_mod.fetch(["horizon"], tmp_path)
