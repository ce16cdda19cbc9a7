"""One figure theme for the whole book: seaborn's colour-blind-safe palette, large readable text."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

#: Colour-blind-safe palette (seaborn "colorblind", after Okabe-Ito / Wong).
PALETTE = sns.color_palette("colorblind")
TREATED, CONTROL, TRUTH, NEUTRAL = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[7]


def set_theme() -> None:
    """Apply the book's theme (call once at the top of every notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.05)
    plt.rcParams.update({
        "figure.figsize": (7.5, 4.2),
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "axes.titleweight": "bold",
        "axes.titlesize": 12,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "clusterpolicy",
    })
