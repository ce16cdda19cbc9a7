"""Publishing numbers from a notebook.

:func:`publish` glues a value with myst-nb (so book pages can paste it with ``{glue:text}``) and the runner copies
every glued literal into ``results/<run>.json``. A number therefore reaches the prose only through a run.

Floats are published at 10 significant digits (:func:`clusterpolicy.fsutil.round_sig`, the one rounding rule of
the project; its module docstring says why 10), so the book's text and ``results/`` agree and are byte-identical
across machines and BLAS builds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from clusterpolicy.fsutil import round_sig


def _plain(value: Any) -> Any:
    """Convert numpy scalars and containers to plain Python so the glued text is a clean literal."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round_sig(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def publish(name: str, value: Any) -> Any:
    """Glue ``value`` under ``name`` (hidden in the notebook; pasted where prose references it).

    Non-finite floats are published as ``None`` so that a missing number can never masquerade as a result; finite
    floats are rounded to 10 significant digits. Returns the plain (rounded) value.
    """
    from myst_nb import glue

    plain = _plain(value)
    glue(name, plain, display=False)
    return plain


def publish_many(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Publish several values as ``<prefix>_<key>``."""
    return {f"{prefix}_{k}": publish(f"{prefix}_{k}", v) for k, v in values.items()}


def publish_result(prefix: str, result: Any) -> dict[str, Any]:
    """Publish an :class:`~clusterpolicy.estimate.result.EstimationResult`'s headline numbers under ``prefix``."""
    return publish_many(prefix, {
        "estimate": result.estimate,
        "se": result.se,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "p_value": result.p_value,
        "n_obs": result.n_obs,
        "n_units": result.n_units,
    })


#: The metadata flag :func:`publish_fields` reads: a field set with :func:`not_published` is an exhibit's data.
_PUBLISH = "publish"


def not_published(**kwargs: Any) -> Any:
    """A dataclass field that :func:`publish_fields` does not glue (a table or a figure's data, shown as an exhibit).
    ``kwargs`` go to :func:`dataclasses.field` (``default``, ``default_factory``); it is left out of ``repr``."""
    import dataclasses

    return dataclasses.field(metadata={_PUBLISH: False}, repr=kwargs.pop("repr", False), **kwargs)


def publish_fields(values: Any) -> dict[str, Any]:
    """Publish every field of a study's frozen dataclass under its own name (the study's published keys).

    Fields declared with :func:`not_published` (tables, figures' data) are not glued: templates show
    them as exhibits. Returns ``{name: plain value}`` of what was published.
    """
    import dataclasses

    out = {}
    for f in dataclasses.fields(values):
        if f.metadata.get(_PUBLISH, True):
            out[f.name] = publish(f.name, getattr(values, f.name))
    return out
