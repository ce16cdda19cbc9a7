"""Full-data mode: download the official CORDIS open-data exports with pooch.

The committed panels are built from partial, offline copies of CORDIS (see ``data/README.md``). With internet
access, ``clusterpolicy data fetch`` downloads the complete official exports of FP7, Horizon 2020 and Horizon
Europe projects and organisations (each zip holds ``project.csv`` and ``organization.csv``, the latter with every
participant's ``nutsCode``); ``clusterpolicy data build --full <cache>`` then builds the EU-wide NUTS2 panel.

Checksums: the exports were not downloadable where this registry was written, and CORDIS refreshes them
periodically, so no sha256 is pinned (``known_hash=None``). pooch then skips verification and logs the hash of
the file it downloaded; record it here (``REGISTRY[...].sha256``) to pin a snapshot for a publication.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from clusterpolicy.data.build._common import sha256_file
from clusterpolicy.errors import OfflineError, UserInputError

logger = logging.getLogger("clusterpolicy.data.fetch")

#: Environment variable overriding the default cache folder.
CACHE_ENV = "CLUSTERPOLICY_CACHE"


@dataclass(frozen=True)
class Remote:
    """One downloadable file: stable URL, local file name and (if pinned) its sha256."""

    url: str
    filename: str
    sha256: str | None
    description: str


#: Official CORDIS open-data exports (https://cordis.europa.eu/data/, listed on data.europa.eu). No checksum is
#: pinned (see module docstring): ``None`` means "unknown; pooch logs the hash of what it downloads".
REGISTRY: dict[str, Remote] = {
    "fp7": Remote(
        url="https://cordis.europa.eu/data/cordis-fp7projects-csv.zip",
        filename="cordis-fp7projects-csv.zip",
        sha256=None,  # unknown: not downloadable when this registry was written
        description="CORDIS - EU research projects under FP7 (2007-2013), projects and organisations, CSV",
    ),
    "h2020": Remote(
        url="https://cordis.europa.eu/data/cordis-h2020projects-csv.zip",
        filename="cordis-h2020projects-csv.zip",
        sha256=None,  # unknown: not downloadable when this registry was written
        description="CORDIS - EU research projects under Horizon 2020 (2014-2020), projects and organisations, CSV",
    ),
    "horizon": Remote(
        url="https://cordis.europa.eu/data/cordis-HORIZONprojects-csv.zip",
        filename="cordis-HORIZONprojects-csv.zip",
        sha256=None,  # unknown: not downloadable when this registry was written
        description="CORDIS - EU research projects under Horizon Europe (2021-2027), projects and organisations, CSV",
    ),
}


def default_cache() -> Path:
    """Cache folder: ``$CLUSTERPOLICY_CACHE`` if set, else ``~/.cache/clusterpolicy``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/clusterpolicy").expanduser()


def _network_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def _http_error() -> type[BaseException]:
    import requests

    return requests.exceptions.HTTPError


def fetch(names: list[str] | None = None, cache: Path | None = None, *, progressbar: bool = True) -> dict[str, Path]:
    """Download (or reuse from the cache) the CORDIS exports.

    Parameters
    ----------
    names
        Keys of :data:`REGISTRY` to fetch (default: all).
    cache
        Download folder (default :func:`default_cache`). A file already there is reused if its checksum matches
        the pinned one (or, with no pinned checksum, as is).
    progressbar
        Show a tqdm progress bar while downloading.

    Returns
    -------
    dict
        ``{name: local path}``.

    Raises
    ------
    OfflineError
        If a download is needed and the network is unreachable.
    UserInputError
        For an unknown name or a checksum mismatch.
    """
    import pooch

    # pooch announces every download on stderr; the progress bar already shows it, and offline the user
    # should see exactly one sentence.
    pooch.get_logger().setLevel(logging.WARNING)
    wanted = list(REGISTRY) if not names else list(names)
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise UserInputError(
            f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(REGISTRY)}."
        )
    folder = Path(cache) if cache is not None else default_cache()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserInputError(
            f"cannot create cache folder {folder} ({err.strerror}); pass another with --cache."
        ) from err
    paths: dict[str, Path] = {}
    for name in wanted:
        remote = REGISTRY[name]
        try:
            local = pooch.retrieve(
                url=remote.url,
                known_hash=remote.sha256,
                fname=remote.filename,
                path=folder,
                progressbar=progressbar,
            )
        except _network_errors() as err:
            raise OfflineError(
                f"cannot download {remote.filename} from {remote.url}: the network is unreachable; connect to the "
                f"internet and retry, or copy the file into {folder} by hand."
            ) from err
        except _http_error() as err:
            raise UserInputError(
                f"the server refused {remote.url} ({err}); the export may have moved: check https://cordis.europa.eu/"
                "data/ and update the URL in clusterpolicy/data/fetch.py."
            ) from err
        except ValueError as err:
            # pooch raises ValueError on a hash mismatch.
            raise UserInputError(
                f"{remote.filename} in {folder} does not match its pinned sha256 ({err}); delete it and fetch "
                "again, or update the checksum in clusterpolicy/data/fetch.py if CORDIS published a new export."
            ) from err
        paths[name] = Path(local)
        if remote.sha256 is None:
            logger.info("%s sha256 %s (not pinned; record it in REGISTRY to pin)", remote.filename,
                        sha256_file(Path(local)))
    return paths
