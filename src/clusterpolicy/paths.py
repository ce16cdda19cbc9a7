"""Where things live. Every path is resolved from the project root, never from the current directory, so
commands and notebooks behave the same wherever they are started."""

from __future__ import annotations

import os
from pathlib import Path

from clusterpolicy.errors import UserInputError

#: Files whose presence marks the project root.
ROOT_MARKERS = ("_config.yml", "notebooks/runs.yaml")


def _is_root(path: Path) -> bool:
    return all((path / marker).exists() for marker in ROOT_MARKERS)


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the project root.

    Order: the ``CLUSTERPOLICY_ROOT`` environment variable; the first parent of ``start`` (default: the current
    directory) holding ``_config.yml`` and ``notebooks/runs.yaml``; the checkout this package was installed
    from (editable installs).
    """
    env = os.environ.get("CLUSTERPOLICY_ROOT")
    if env:
        root = Path(env).resolve()
        if not _is_root(root):
            raise UserInputError(
                f"CLUSTERPOLICY_ROOT={env} is not a clusterpolicy project (it needs {' and '.join(ROOT_MARKERS)}); "
                "unset it or point it at the project folder."
            )
        return root
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_root(candidate):
            return candidate
    installed = Path(__file__).resolve().parents[2]
    if _is_root(installed):
        return installed
    raise UserInputError(
        f"no clusterpolicy project found at or above {here}; run the command inside the project folder "
        "or set CLUSTERPOLICY_ROOT."
    )


def data_dir(root: Path | None = None) -> Path:
    """The committed data folder (``data/``)."""
    return (root or project_root()) / "data"
