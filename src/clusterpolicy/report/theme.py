"""One figure theme for the whole book: seaborn's colour-blind-safe palette, large readable text.

The theme is seaborn's ``set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=1.05)``
written out as matplotlib rcParams, so that a notebook does not import seaborn (about 0.6 s, almost all of it
``scipy.stats``) only to set a few rcParams. ``tests/test_theme.py`` checks that the values below are exactly
what seaborn sets; seaborn is imported only by the functions that draw with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.rcsetup import cycler  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Colour-blind-safe palette (seaborn 0.13's "colorblind", after Okabe-Ito / Wong), as ``sns.color_palette``
#: returns it: its hex codes converted by ``matplotlib.colors.to_rgb``.
PALETTE: tuple[tuple[float, float, float], ...] = tuple(to_rgb(c) for c in (
    "#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161", "#FBAFE4", "#949494", "#ECE133", "#56B4E9",
))
TREATED, CONTROL, TRUTH, NEUTRAL = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[7]

#: What seaborn 0.13's ``set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.05)`` sets:
#: ``plotting_context("notebook", 1.05)``, ``axes_style("whitegrid", rc={"font.family": "sans-serif"})`` and the
#: colour cycle. One exception: seaborn's ``"image.cmap": "rocket"`` is left out, because that colormap exists
#: only once seaborn is imported (without it any scatter plot fails); no book figure draws with the default
#: colormap (the heat map names ``mako_r``, the tile map ``viridis``).
SEABORN_RC: dict[RcKeyType, Any] = {
    # plotting_context("notebook", font_scale=1.05)
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "lines.markersize": 6,
    "patch.linewidth": 1, "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1,
    "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6, "xtick.minor.size": 4,
    "ytick.minor.size": 4, "font.size": 12.600000000000001, "axes.labelsize": 12.600000000000001,
    "axes.titlesize": 12.600000000000001, "xtick.labelsize": 11.55, "ytick.labelsize": 11.55,
    "legend.fontsize": 11.55, "legend.title_fontsize": 12.600000000000001,
    # axes_style("whitegrid", rc={"font.family": "sans-serif"})
    "figure.facecolor": "white", "axes.labelcolor": ".15", "xtick.direction": "out", "ytick.direction": "out",
    "xtick.color": ".15", "ytick.color": ".15", "axes.axisbelow": True, "grid.linestyle": "-", "text.color": ".15",
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True, "xtick.top": False,
    "ytick.right": False, "axes.grid": True, "axes.facecolor": "white", "axes.edgecolor": ".8", "grid.color": ".8",
    "axes.spines.left": True, "axes.spines.bottom": True, "axes.spines.right": True, "axes.spines.top": True,
    "xtick.bottom": False, "ytick.left": False,
    # set_palette(PALETTE)
    "axes.prop_cycle": cycler("color", PALETTE),
}

#: The book's own settings on top of seaborn's.
BOOK_RC: dict[RcKeyType, Any] = {
    "figure.figsize": (7.5, 4.2),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "clusterpolicy",
}


def set_theme() -> None:
    """Apply the book's theme (call once at the top of every notebook)."""
    matplotlib.rcParams.update(SEABORN_RC)
    matplotlib.rcParams.update(BOOK_RC)
