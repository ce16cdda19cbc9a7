"""The book's one event-study pair (report/analysis_figures.py: plotly and its matplotlib twin), the Italian labels
from study/wording.py, and the Italian brief's figures (book/brief_it.md)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from clusterpolicy.report.analysis_figures import event_studies_figure, event_studies_plotly, event_study_plan
from clusterpolicy.report.single_region_figures import point_event_study_plotly
from clusterpolicy.study import wording

ROOT = Path(__file__).resolve().parents[1]
ROBUST = "Callaway-Sant'Anna (not-yet-treated controls)"
TWFE = "TWFE event study"


@pytest.fixture()
def studies() -> dict[str, pd.DataFrame]:
    """A small result: the robust study with pointwise intervals and uniform bands and no reference row, the
    conventional one with pointwise intervals only and the reference row at zero."""
    robust = pd.DataFrame({"event_time": [-3, -2, 0, 1], "estimate": [0.1, -0.2, 0.3, 0.5]})
    robust = robust.assign(ci_low=robust["estimate"] - 0.2, ci_high=robust["estimate"] + 0.25,
                           uniform_low=robust["estimate"] - 0.4, uniform_high=robust["estimate"] + 0.45)
    twfe = pd.DataFrame({"event_time": [-3, -2, -1, 0, 1], "estimate": [0.0, 0.1, 0.0, 0.2, 0.4]})
    twfe = twfe.assign(ci_low=twfe["estimate"] - 0.3, ci_high=twfe["estimate"] + 0.3)
    return {ROBUST: robust, TWFE: twfe}


def _traces(fig: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for trace in fig.data:
        out.setdefault(trace.name, []).append(trace)
    return out


def test_plotly_event_study_traces_and_hover(studies: dict[str, pd.DataFrame]) -> None:
    fig = event_studies_plotly(event_study_plan(studies, title="A title", ylabel="Effect (log)"))
    traces = _traces(fig)
    band_name = f"{ROBUST}: uniform (sup-t) band"
    assert set(traces) == {ROBUST, TWFE, band_name}
    # the robust study: its estimates, and the hollow reference point (it lacks event time -1)
    robust, reference = traces[ROBUST]
    assert reference.showlegend is False and list(reference.y) == [0.0] and "reference period" in reference.hovertemplate
    np.testing.assert_allclose(robust.y, studies[ROBUST]["estimate"])
    # x is dodged sideways, the hover reads the true event time from customdata
    assert not np.allclose(robust.x, studies[ROBUST]["event_time"])
    np.testing.assert_allclose(robust.customdata[:, 0], studies[ROBUST]["event_time"])
    np.testing.assert_allclose(robust.customdata[:, 1:3], studies[ROBUST][["ci_low", "ci_high"]])
    np.testing.assert_allclose(robust.customdata[:, 3:5], studies[ROBUST][["uniform_low", "uniform_high"]])
    np.testing.assert_allclose(robust.error_y.array, 0.25)
    np.testing.assert_allclose(robust.error_y.arrayminus, 0.2)
    hover = robust.hovertemplate
    for part in ("Years since the start: %{customdata[0]:.0f}", "Estimate: %{y:.3g}",
                 "95% interval %{customdata[1]:.3g} to %{customdata[2]:.3g}",
                 "uniform (sup-t) band %{customdata[3]:.3g} to %{customdata[4]:.3g}"):
        assert part in hover
    # the uniform band: its own legend entry (toggles alone), no hover of its own, drawn around the same points
    (band,) = traces[band_name]
    assert band.hoverinfo == "skip" and band.legendgroup != robust.legendgroup
    np.testing.assert_allclose(band.error_y.array, 0.45)
    # the conventional study has no band and its own reference row: no band in its hover, no hollow point
    (twfe,) = traces[TWFE]
    assert "uniform" not in twfe.hovertemplate and "95% interval" in twfe.hovertemplate
    assert fig.layout.xaxis.title.text.startswith("Years since the policy started")


def test_plotly_event_study_without_intervals_draws_no_bars(studies: dict[str, pd.DataFrame]) -> None:
    points = studies[TWFE][["event_time", "estimate"]]
    fig = point_event_study_plotly(points, title="Lombardy", ylabel="Effect")
    assert [t.name for t in fig.data] == ["Before the onset (placebo years)", "From the onset"]
    assert all(t.error_y.array is None for t in fig.data)
    assert all("interval" not in t.hovertemplate for t in fig.data)
    assert sorted(np.concatenate([t.customdata[:, 0] for t in fig.data])) == sorted(points["event_time"])
    np.testing.assert_allclose(np.concatenate([t.x for t in fig.data]), points["event_time"])  # no dodge


def test_static_twin_draws_the_same_plan(studies: dict[str, pd.DataFrame]) -> None:
    fig = event_studies_figure(event_study_plan(studies, title="A title", ylabel="Effect (log)", window=(-2, 1)))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"{ROBUST}: uniform (sup-t) band", ROBUST, TWFE]
    plt.close(fig)


def test_italian_figure_has_italian_labels(studies: dict[str, pd.DataFrame]) -> None:
    it = {wording.translate(k, "it"): v for k, v in studies.items()}
    fig = event_studies_figure(event_study_plan(it, title="Titolo", ylabel=wording.effect_axis("per_capita", "it"), lang="it"))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Anni dall'avvio della politica (tempo dell'evento; linea punteggiata = avvio)"
    assert ax.get_ylabel() == "Effetto (pro capite)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Callaway-Sant'Anna (controlli non ancora trattati): banda uniforme (sup-t)",
                      "Callaway-Sant'Anna (controlli non ancora trattati)", "Event study TWFE"]
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "0,25"  # decimal comma
    plt.close(fig)
    interactive = event_studies_plotly(event_study_plan(it, title="Titolo", ylabel="Effetto (pro capite)", lang="it"))
    assert interactive.layout.separators == ",."
    assert interactive.layout.xaxis.title.text.startswith("Anni dall'avvio")
    assert "Stima: %{y:.3g}" in interactive.data[1].hovertemplate
    assert "intervallo al 95% da %{customdata[1]:.3g} a %{customdata[2]:.3g}" in interactive.data[1].hovertemplate


def test_italian_title_and_axis_of_the_italy_runs() -> None:
    from clusterpolicy.study.italy import event_study_labels

    values: Any = SimpleNamespace(outcome="coparticipation_projects_intraregional", transform="per_capita",
                                  outcome_label="unused in Italian", ci_low=-1.0, ci_high=2.0,
                                  inference_method="analytic")
    title, ylabel = event_study_labels(values, lang="it")
    assert title == ("Progetti H2020 tra un'impresa e un istituto della stessa regione pro capite: nessuna "
                     "variazione chiara dopo le politiche (intervallo: analitico)")
    assert ylabel == "Effetto (progetti per milione di abitanti)", "the axis names the unit the brief's text uses"
    values.outcome_label = "Business R&D personnel (log)"
    values.ci_low = 0.1
    assert event_study_labels(values) == ("Business R&D personnel (log): rose after the policies (interval: analytic)",
                                          "Effect (projects per million inhabitants)")


def test_every_label_the_italy_runs_draw_has_an_italian_version() -> None:
    from clusterpolicy.study.italy import admissible_scales
    from clusterpolicy.study.panel import CONTRASTS, OUTCOMES, outcome_unit

    for outcome in OUTCOMES:
        for transform in admissible_scales(outcome):
            assert wording.outcome_label_it(outcome, transform, contrast=outcome in CONTRASTS)
            wording.effect_axis(transform, "it")
            wording.effect_axis_unit(outcome_unit(outcome, transform), "it")  # raises KeyError if untranslated
    for base in ("Callaway-Sant'Anna", "ETWFE Poisson"):
        for controls in ("not-yet-treated", "never-treated"):
            wording.to_italian(f"{base} ({controls} controls)")
    for label in ("TWFE event study", "Poisson with relative-time dummies (TWFE-style)", "analytic",
                  "multiplier bootstrap", "none", "placebo-in-space", "rose", "fell", "no clear change",
                  "no valid interval"):
        wording.to_italian(label)
    assert set(wording.FIGURE_WORDS["it"]) == set(wording.FIGURE_WORDS["en"])
    with pytest.raises(KeyError, match="add it to"):
        wording.to_italian("A label nobody translated")
    with pytest.raises(ValueError, match="no figure words"):
        wording.figure_words("fr")


# ---------------------------------------------------------------------------------------------------------------
# The Italian brief shows only Italian-labelled figures, each registered as an exhibit
BRIEF_IT = ROOT / "book" / "brief_it.md"
FIGURE = re.compile(r"```\{(?:figure|image)\}\s+\.\./(_build/exhibits/[^\s`]+)")


def _brief_figures() -> list[str]:
    return FIGURE.findall(BRIEF_IT.read_text(encoding="utf-8"))


def test_brief_it_shows_registered_italian_figures() -> None:
    from clusterpolicy.pipeline.exhibits import exhibit_rows
    from clusterpolicy.pipeline.manifest import load_manifest

    figures = _brief_figures()
    assert figures, "the Italian brief shows at least one figure"
    outputs = {row["output"] for row in exhibit_rows(load_manifest(ROOT))}
    for path in figures:
        assert path.endswith("-it.png"), f"{path}: the Italian brief shows an English-labelled figure"
        assert path in outputs, f"{path} is not an exhibit of any run (add it to the template's front matter)"


@pytest.mark.parametrize("path", _brief_figures())
def test_brief_it_figures_exist_after_the_run_and_are_italian(path: str) -> None:
    from PIL import Image

    from clusterpolicy.paths import project_root

    run_id = Path(path).parent.name
    file = project_root() / path
    if not file.parent.exists():
        pytest.skip(f"run {run_id} has not been executed here (clusterpolicy run --only {run_id})")
    assert file.exists(), f"run {run_id} was executed but did not write {path}"
    with Image.open(file) as image:
        assert image.text.get("Language") == "it", f"{path} is not tagged as an Italian-labelled figure"
