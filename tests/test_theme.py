"""The book's theme is seaborn's, written out as rcParams: check it against seaborn itself, and that a notebook's
imports stay free of seaborn and scipy.stats (about 0.6 s of every run's start-up)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest

from clusterpolicy.report import theme


def _rc_after(apply) -> dict:
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        apply()
        return dict(matplotlib.rcParams)


def test_palette_is_seaborns_colorblind():
    sns = pytest.importorskip("seaborn")
    assert list(theme.PALETTE) == sns.color_palette("colorblind")


def test_set_theme_sets_what_seaborn_sets():
    sns = pytest.importorskip("seaborn")
    b_before = matplotlib.colors.to_rgb("b")

    def seaborn_theme() -> None:
        sns.set_theme(context="notebook", style="whitegrid", palette=sns.color_palette("colorblind"), font_scale=1.05)
        matplotlib.rcParams.update(theme.BOOK_RC)

    expected, ours = _rc_after(seaborn_theme), _rc_after(theme.set_theme)
    # The one key left out on purpose (see theme.SEABORN_RC): seaborn's "rocket" colormap needs seaborn imported.
    assert expected.pop("image.cmap") == "rocket"
    assert ours.pop("image.cmap") == matplotlib.rcParamsDefault["image.cmap"]
    assert {k: v for k, v in ours.items() if expected[k] != v} == {}
    # With a palette given as colours (not by name) seaborn leaves the "b", "g", ... shorthands alone, as we do.
    assert matplotlib.colors.to_rgb("b") == b_before


def test_notebook_imports_skip_seaborn_and_scipy_stats():
    # Every module a template's first cell imports, in a fresh interpreter (sys.modules here is already polluted).
    code = (
        "import importlib, pkgutil, sys\n"
        "import clusterpolicy.report, clusterpolicy.study\n"
        "for pkg in (clusterpolicy.report, clusterpolicy.study):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "clusterpolicy.report.theme.set_theme()\n"
        "print(sorted(m for m in ('seaborn', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
