"""Plain-language wording derived from results, so titles and briefs state the finding without typing it.

The words depend only on the estimate and its confidence interval; the numbers themselves reach the prose
through glue.
"""

from __future__ import annotations

import math


def p_text(p: float | None) -> str:
    """A p-value for prose: ``'< 0.001'`` below one in a thousand, else three decimals."""
    if p is None or not math.isfinite(p):
        return "not available"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def direction(ci_low: float | None, ci_high: float | None) -> str:
    """'rose', 'fell' or 'no clear change' from a confidence interval ('no valid interval' without one)."""
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "no valid interval"
    if ci_low > 0:
        return "rose"
    if ci_high < 0:
        return "fell"
    return "no clear change"


def direction_it(ci_low: float | None, ci_high: float | None) -> str:
    """Italian counterpart of :func:`direction` ('è aumentato', 'è diminuito', 'nessuna variazione chiara')."""
    return {
        "rose": "è aumentato",
        "fell": "è diminuito",
        "no clear change": "nessuna variazione chiara",
        "no valid interval": "nessun intervallo valido",
    }[direction(ci_low, ci_high)]


def finding_title(outcome_label: str, ci_low: float | None, ci_high: float | None, *, after: str = "after cluster policies") -> str:
    """A figure title that states the finding, e.g. 'Business R&D personnel: no clear change after cluster policies'."""
    verb = direction(ci_low, ci_high)
    if verb == "no clear change":
        return f"{outcome_label}: no clear change {after}"
    if verb == "no valid interval":
        return f"{outcome_label}: no valid interval for the effect"
    return f"{outcome_label} {verb} {after}"


def percent_change(log_effect: float | None) -> float | None:
    """Percentage change implied by an effect on the log scale (100 * (exp(b) - 1))."""
    if log_effect is None or not math.isfinite(log_effect):
        return None
    return 100.0 * math.expm1(log_effect)


def certainty(p_value: float | None) -> str:
    """A hedge for policymakers, from the p-value (not a substitute for the interval)."""
    if p_value is None or not math.isfinite(p_value):
        return "unknown"
    if p_value < 0.01:
        return "strong evidence"
    if p_value < 0.05:
        return "moderate evidence"
    if p_value < 0.10:
        return "weak evidence"
    return "no reliable evidence"


# ================================================================================================================
# Figure words by language: the one place the book's figures get their fixed text and their Italian labels
# ================================================================================================================
# The Italian brief shows figures drawn with Italian labels. Every word a figure draws that is not data comes from
# here, so a translation is made (and reviewed) once, and a label without a translation fails loudly instead of
# slipping into an Italian figure in English.

Language = str  # "en" or "it"; a plain str so templates can pass a parameter through

#: Fixed text of the event-study figures. ``{lo}``/``{hi}`` are filled with the interval's ends (numbers or
#: plotly hover placeholders).
FIGURE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "event_time_axis": "Years since the policy started (event time; dotted line = start)",
        "onset_axis": "Years since the onset (dotted line = onset)",
        "event_time": "Years since the start",
        "estimate": "Estimate",
        "pointwise": "95% interval {lo} to {hi}",
        "uniform": "uniform (sup-t) band {lo} to {hi}",
        "uniform_legend": "{label}: uniform (sup-t) band",
        "reference": "reference period (set to zero)",
        "effect_axis": "Effect ({scale})",
        "before_onset": "Before the onset (placebo years)",
        "from_onset": "From the onset",
        "finding_title": "{outcome}: {direction} after the policies (interval: {inference})",
    },
    "it": {
        "event_time_axis": "Anni dall'avvio della politica (tempo dell'evento; linea punteggiata = avvio)",
        "onset_axis": "Anni dall'avvio (linea punteggiata = avvio)",
        "event_time": "Anni dall'avvio",
        "estimate": "Stima",
        "pointwise": "intervallo al 95% da {lo} a {hi}",
        "uniform": "banda uniforme (sup-t) da {lo} a {hi}",
        "uniform_legend": "{label}: banda uniforme (sup-t)",
        "reference": "periodo di riferimento (posto a zero)",
        "effect_axis": "Effetto ({scale})",
        "before_onset": "Prima dell'avvio (anni placebo)",
        "from_onset": "Dall'avvio",
        "finding_title": "{outcome}: {direction} dopo le politiche (intervallo: {inference})",
    },
}

#: Italian for the data-derived labels the figures draw (series names, scales, inference methods, the words of
#: :func:`direction`), keyed by the English text the study modules produce.
ITALIAN: dict[str, str] = {
    # event-study series of clusterpolicy.study.italy.analyse
    "Callaway-Sant'Anna (not-yet-treated controls)": "Callaway-Sant'Anna (controlli non ancora trattati)",
    "Callaway-Sant'Anna (never-treated controls)": "Callaway-Sant'Anna (controlli mai trattati)",
    "ETWFE Poisson (not-yet-treated controls)": "ETWFE Poisson (controlli non ancora trattati)",
    "ETWFE Poisson (never-treated controls)": "ETWFE Poisson (controlli mai trattati)",
    "Sun-Abraham (never-treated controls), macro-area x year effects":
        "Sun-Abraham (controlli mai trattati), effetti macro-area x anno",
    "TWFE event study": "Event study TWFE",
    "Poisson with relative-time dummies (TWFE-style)": "Poisson con dummy di tempo relativo (stile TWFE)",
    # scales (transform) as the axis titles name them
    "log": "log",
    "per capita": "pro capite",
    "level": "livello",
    # inference methods (EstimationResult.inference.method)
    "analytic": "analitico",
    "multiplier bootstrap": "bootstrap moltiplicativo",
    "none": "nessuno",
    "placebo-in-space": "placebo nello spazio",
    # direction() as a noun phrase that fits a title after a colon, whatever the outcome's gender
    "rose": "aumento",
    "fell": "calo",
    "no clear change": "nessuna variazione chiara",
    "no valid interval": "nessun intervallo valido",
}

#: Italian names of the outcomes (``clusterpolicy.study.panel.OUTCOMES``), and of their scale suffixes.
OUTCOME_LABELS_IT: dict[str, str] = {
    "rd_personnel_bes_fte": "Personale di R&S delle imprese",
    "researchers_bes_fte": "Ricercatori delle imprese",
    "gerd_bes_mio_eur": "Spesa in R&S delle imprese",
    "rd_personnel_total_fte": "Personale di R&S (tutti i settori)",
    "rd_personnel_hes_fte": "Personale di R&S delle università",
    "rd_personnel_gov_fte": "Personale di R&S della pubblica amministrazione",
    "rd_personnel_bes_minus_hes": "Personale di R&S delle imprese meno quello delle università",
    "coparticipation_projects": "Progetti H2020 tra imprese e istituti di ricerca",
    "coparticipation_projects_intraregional": "Progetti H2020 tra un'impresa e un istituto della stessa regione",
    "coparticipation_projects_org2017": "Progetti H2020 di co-partecipazione (organizzazioni dell'elenco 2017)",
}
_SCALE_SUFFIX_IT = {"log": " (log)", "per_capita": " pro capite", "level": "", "ratio": " (log del rapporto)"}


def figure_words(lang: Language) -> dict[str, str]:
    """The fixed figure text in ``lang`` ('en' or 'it')."""
    try:
        return FIGURE_WORDS[lang]
    except KeyError:
        raise ValueError(f"no figure words for language {lang!r}; use one of {sorted(FIGURE_WORDS)}") from None


def to_italian(text: str) -> str:
    """The Italian of a label listed in :data:`ITALIAN`; raises ``KeyError`` naming the missing label."""
    try:
        return ITALIAN[text]
    except KeyError:
        raise KeyError(f"no Italian for the figure label {text!r}; add it to clusterpolicy.study.wording.ITALIAN") \
            from None


def translate(text: str, lang: Language) -> str:
    """``text`` in ``lang``: unchanged in English, :func:`to_italian` in Italian."""
    figure_words(lang)  # rejects unknown languages
    return text if lang == "en" else to_italian(text)


def outcome_label_it(outcome: str, transform: str, *, contrast: bool = False) -> str:
    """Italian counterpart of :func:`clusterpolicy.study.panel.outcome_label` (``contrast`` for log ratios)."""
    try:
        base = OUTCOME_LABELS_IT[outcome]
    except KeyError:
        raise KeyError(f"no Italian name for outcome {outcome!r}; add it to OUTCOME_LABELS_IT") from None
    return base + _SCALE_SUFFIX_IT["ratio" if contrast else transform]


def effect_axis(transform: str, lang: Language = "en") -> str:
    """The y-axis title of an effect on a scale, e.g. 'Effect (per capita)' / 'Effetto (pro capite)'."""
    return figure_words(lang)["effect_axis"].format(scale=translate(transform.replace("_", " "), lang))


def finding_title_event_study(outcome_label: str, ci_low: float | None, ci_high: float | None, inference: str,
                              lang: Language = "en") -> str:
    """The event-study title that states the finding, e.g. '<outcome>: no clear change after the policies
    (interval: analytic)'; ``outcome_label`` is already in ``lang``."""
    return figure_words(lang)["finding_title"].format(
        outcome=outcome_label, direction=translate(direction(ci_low, ci_high), lang),
        inference=translate(inference, lang))


# ================================================================================================================
# Units, Italian numbers and the rules the briefs apply to every row
# ================================================================================================================
#: Italian for the units :func:`clusterpolicy.study.panel.outcome_unit` returns (axis titles and brief rows).
UNITS_IT: dict[str, str] = {
    "projects per million inhabitants": "progetti per milione di abitanti",
    "FTE per 1,000 inhabitants": "ETP per 1.000 abitanti",
    "EUR per inhabitant": "euro per abitante",
    "full-time equivalents": "equivalenti a tempo pieno",
    "projects": "progetti",
    "million EUR": "milioni di euro",
    "log points of full-time equivalents": "punti logaritmici di equivalenti a tempo pieno",
    "log points of projects": "punti logaritmici di progetti",
    "log points of million EUR": "punti logaritmici di milioni di euro",
    "log points (ratio)": "punti logaritmici (rapporto)",
}

#: A pre-trend test below this p-value means the comparison regions were already diverging: the row is not evidence.
PRETREND_LEVEL = 0.05


def unit_in(unit: str, lang: Language) -> str:
    """``unit`` (an :func:`~clusterpolicy.study.panel.outcome_unit`) in ``lang``; raises ``KeyError`` naming a
    unit without an Italian version."""
    figure_words(lang)
    if lang == "en":
        return unit
    try:
        return UNITS_IT[unit]
    except KeyError:
        raise KeyError(f"no Italian for the unit {unit!r}; add it to clusterpolicy.study.wording.UNITS_IT") from None


def effect_axis_unit(unit: str, lang: Language = "en") -> str:
    """The y-axis title of an effect in its unit, e.g. 'Effect (projects per million inhabitants)', so the axis
    says what the brief's text says."""
    return figure_words(lang)["effect_axis"].format(scale=unit_in(unit, lang))


def number_it(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits the Italian way: decimal comma, thousands point, true minus sign
    (``-1.0467`` -> ``'−1,05'``, ``-647.9`` -> ``'−648'``); ``'n.d.'`` when missing."""
    if x is None or not math.isfinite(x):
        return "n.d."
    if x == 0:
        return "0"
    # significant digits without the exponent notation that ``g`` switches to above 10**digits
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".").replace("-", "\u2212")


def p_phrase(p: float | None, lang: Language = "en") -> str:
    """``'p = 0.007'`` or ``'p < 0.001'`` (Italian: ``'p = 0,007'``), from :func:`p_text`."""
    text = p_text(p)
    if lang == "it":
        text = "non disponibile" if p is None or not math.isfinite(p) else text.replace(".", ",")
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def pretrend_verdict(p: float | None, lang: Language = "en", level: float = PRETREND_LEVEL) -> str:
    """The rule every row of the briefs applies: a pre-trend test below ``level`` means treated and comparison
    regions were already diverging, so the row's estimate is not evidence; above it the test is a diagnostic, not
    proof of parallel trends."""
    figure_words(lang)
    if p is None or not math.isfinite(p):
        return ("no pre-trend test (too few years before the policies)" if lang == "en" else
                "nessun test sulle tendenze precedenti (troppo pochi anni prima delle politiche)")
    if p < level:
        return (f"pre-trends fail ({p_phrase(p)}): not evidence" if lang == "en" else
                f"le tendenze precedenti non sono parallele ({p_phrase(p, 'it')}): non è evidenza")
    return (f"pre-trend test passed ({p_phrase(p)}); a diagnostic, not proof" if lang == "en" else
            f"test sulle tendenze precedenti superato ({p_phrase(p, 'it')}): una diagnostica, non una prova")
