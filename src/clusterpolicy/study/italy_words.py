"""The briefs' words for one Italian run, generated from its results by stated rules (English and Italian).

``book/brief_en.md`` and ``book/brief_it.md`` glue these keys instead of typing claims that go stale when the data
change. Each key follows one rule, stated in its function:

* **pre-trends** (:func:`~clusterpolicy.study.wording.pretrend_verdict`): a pre-trend test below
  :data:`~clusterpolicy.study.wording.PRETREND_LEVEL` makes the row "pre-trends fail: not evidence";
* **pre-policy intervals** (:func:`pre_period_counts`): how many yearly intervals before the start exclude zero,
  per series the event-study figure draws, over the event times it shows;
* **dropped regions** (:func:`dropped_counts`): why each region outside the design was left out, counted by reason;
* **identification** (:func:`identification_text`): what the interval and the smallest detectable effect say about
  the sign and the size of the effect;
* **Italian numbers**: every decimal the Italian brief shows, with decimal commas
  (:func:`~clusterpolicy.study.wording.number_it`).

The estimand and assumptions are those of :mod:`clusterpolicy.study.italy` (group-time average effects on the
treated under parallel trends, 95 % intervals with t(G-1) critical values); nothing here re-estimates anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from clusterpolicy.study.italy import Analysis, Published, event_study_series, event_study_window
from clusterpolicy.study.panel import outcome_unit
from clusterpolicy.study.wording import PRETREND_LEVEL, number_it, p_text, pretrend_verdict, to_italian, unit_in

#: Reasons a region is left out of a design, keyed by how :func:`clusterpolicy.study.panel.analysis_panel` words
#: them (a reason with none of these prefixes counts as ``other``; a test checks every real reason is known).
DROP_REASONS: dict[str, str] = {
    "already treated in": "already_treated",
    "unknown under": "undated",
    "Mezzogiorno region outside": "outside_area",
    "treated under": "other_treated",
    "treated region (from": "other_treated",
}


@dataclass(frozen=True)
class BriefWords:
    """Published keys of an Italian run that the briefs glue as words (``*_it``: the Italian version)."""

    unit_words: str
    scale_words: str
    scale_words_it: str
    interval_label: str
    interval_label_it: str
    verdict_label: str
    verdict_label_it: str
    verdict_text: str
    verdict_text_it: str
    pretrend_fails: bool
    pretrend_verdict: str
    pretrend_verdict_it: str
    n_pre_intervals: int
    n_pre_excluding_zero: int
    pre_intervals_text: str
    pre_intervals_text_it: str
    n_dropped_already_treated: int
    n_dropped_undated: int
    n_dropped_outside_area: int
    n_dropped_other: int
    dropped_text: str
    dropped_text_it: str
    identified_text: str
    identified_text_it: str
    not_identified_text: str
    not_identified_text_it: str
    estimate_it: str
    ci_low_it: str
    ci_high_it: str
    mde_it: str
    rm_lb_mbar1_it: str
    rm_ub_mbar1_it: str
    loo_min_it: str
    loo_max_it: str
    pretrend_p_text_it: str
    ri_p_text_it: str


def scale_words(outcome: str, transform: str, lang: str = "en") -> str:
    """The unit the brief states an effect in: per cent for logs (the brief converts), else the outcome's unit."""
    if transform == "log":
        return "per cent change (estimated in logs)" if lang == "en" else "variazione percentuale (stimata in log)"
    return unit_in(outcome_unit(outcome, transform), lang)  # type: ignore[arg-type]


def pre_period_counts(studies: dict[str, pd.DataFrame], window: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Per series, ``(intervals before the start, of which excluding zero)`` over the event times ``window`` shows.

    The reference period (no interval) is not counted. An interval excludes zero when both ends lie on the same
    side of it."""
    out = {}
    for label, es in studies.items():
        pre = es[(es["event_time"] < 0) & (es["event_time"] >= window[0])].dropna(subset=["ci_low", "ci_high"])
        excluding = int(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).sum())
        out[label] = (len(pre), excluding)
    return out


def dropped_counts(dropped: dict[str, str]) -> dict[str, int]:
    """Regions left out of a design, counted by reason (keys of :data:`DROP_REASONS` values, plus ``other``)."""
    counts = {"already_treated": 0, "undated": 0, "outside_area": 0, "other_treated": 0, "other": 0}
    for reason in dropped.values():
        kind = next((k for prefix, k in DROP_REASONS.items() if reason.startswith(prefix)), "other")
        counts[kind] += 1
    return counts


def _dropped_text(counts: dict[str, int], first_year: int, lang: str) -> str:
    en = {
        "already_treated": f"{{n}} had already started their policy by {first_year}, the first year observed, "
                           "so there is no year before it to compare",
        "undated": "{n} have a policy history the audited calendar could not date or fully check",
        "outside_area": "{n} are Mezzogiorno regions outside the Centre-North comparison",
        "other_treated": "{n} had a policy that this design does not study",
        "other": "{n} were left out for other reasons (see the run page)",
    }
    it = {
        "already_treated": f"{{n}} avevano già avviato la politica entro il {first_year}, il primo anno osservato, "
                           "e non hanno un anno precedente da confrontare",
        "undated": "{n} hanno una storia di politiche che il calendario verificato non permette di datare o "
                   "verificare del tutto",
        "outside_area": "{n} sono regioni del Mezzogiorno escluse dal confronto Centro-Nord",
        "other_treated": "{n} avevano una politica che questo disegno non studia",
        "other": "{n} sono escluse per altri motivi (si veda la pagina dell'analisi)",
    }
    words = en if lang == "en" else it
    parts = [words[k].format(n=n) for k, n in counts.items() if n]
    if not parts:
        return "none" if lang == "en" else "nessuna"
    return "; ".join(parts)


def _p_text_it(p: float | None) -> str:
    """:func:`~clusterpolicy.study.wording.p_text` with a decimal comma (``'< 0,001'``, ``'0,332'``)."""
    return "non disponibile" if p is None or not math.isfinite(p) else p_text(p).replace(".", ",")


def _pct(x: float, lang: str) -> str:
    text = f"{x:+.0f}"
    return (text + " per cent") if lang == "en" else (text.replace("-", "\u2212") + " per cento")


def interval_ends(values: Published, lang: str = "en") -> tuple[str, str, str]:
    """The verdict interval's ends in words, ``(low, high, unit)``: per cent where the run converts, else in the
    outcome's unit (then ``unit`` names it); an infinite end reads "no lower limit" / "no upper limit"."""
    en = lang == "en"
    pct = values.percent_verdict_ci_low, values.percent_verdict_ci_high
    unbounded = values.verdict_low_unbounded, values.verdict_high_unbounded
    use_pct = all(p is not None or u for p, u in zip(pct, unbounded, strict=True)) and any(p is not None for p in pct)
    ends = []
    for x, p, u, side in zip((values.verdict_ci_low, values.verdict_ci_high), pct, unbounded, ("lower", "upper"),
                             strict=True):
        if u:
            ends.append(f"no {side} limit" if en else ("nessun limite inferiore" if side == "lower"
                                                       else "nessun limite superiore"))
        elif use_pct and p is not None:
            floor = p <= -100.0 + 1e-9
            ends.append(_pct(p, lang) + ((" (the lowest possible)" if en else " (il minimo possibile)") if floor
                                         else ""))
        elif x is not None:
            ends.append(f"{x:+.3g}" if en else ("+" if x > 0 else "") + number_it(x))
        else:
            ends.append("?")
    unit = "" if use_pct else " " + scale_words(values.outcome, values.transform, lang)
    return ends[0], ends[1], unit


def verdict_label(values: Published, lang: str = "en") -> str:
    """What the verdict interval is, in words (design page rule)."""
    en = lang == "en"
    if values.verdict_interval == "randomisation":
        within_it = {"macro_area": "entro le macroaree",
                     "miur_district": "entro gli strati dei distretti tecnologici MIUR"}[values.ri_strata]
        return (f"95 % randomisation interval: adoption years permuted within {values.ri_strata_label}, "
                f"{values.n_clusters} regions, effect assumed equal in every region" if en else
                f"intervallo di randomizzazione al 95 %: anni di avvio permutati {within_it}, "
                f"{values.n_clusters} regioni, effetto supposto uguale in ogni regione")
    if values.verdict_interval == "t":
        return (f"95 % interval with t({values.df}) critical values, {values.n_clusters} regions" if en else
                f"intervallo al 95 % con valori critici t({values.df}), {values.n_clusters} regioni")
    return "no valid interval (one treated region)" if en else "nessun intervallo valido (una sola regione trattata)"


def identification_text(values: Published, lang: str = "en") -> tuple[str, str]:
    """``(what the data identify, what they do not)`` in plain words, from the interval and the smallest
    detectable effect (power 0.8) of the run.

    Rules: no interval (one treated region) identifies neither sign nor size; an interval including zero leaves the
    sign unidentified and rules out only effects beyond its ends; an interval on one side of zero identifies the
    sign under the design's assumptions. Effects below the smallest detectable one would go unseen in every case.
    """
    en = lang == "en"
    if values.verdict_interval == "none":
        return (("Nothing about the size or the sign: with one treated region no interval is valid." if en else
                 "Nulla su dimensione e segno: con una sola regione trattata nessun intervallo è valido."),
                ("The sign of the effect." if en else "Il segno dell'effetto."))
    lo, hi, unit = interval_ends(values, lang)
    if values.mde_percent is not None:
        small = f"about {values.mde_percent:.0f} per cent" if en else f"circa {values.mde_percent:.0f} per cento"
    elif values.mde is not None:
        small = (f"about {values.mde:.3g}" if en else f"circa {number_it(values.mde)}") + " " + scale_words(
            values.outcome, values.transform, lang)
    else:
        small = "the smallest detectable effect" if en else "l'effetto minimo rilevabile"
    unseen = (f"Effects smaller than {small} could not be detected reliably: the design would detect an effect of "
              "that size four times in five, and smaller ones less often." if en else
              f"Effetti più piccoli di {small} non sarebbero rilevati in modo affidabile: il disegno rileverebbe un "
              "effetto di quella dimensione quattro volte su cinque, e quelli più piccoli meno spesso.")
    verb = values.direction
    if verb == "no clear change":
        identified = (f"Only that effects beyond the ends of the interval, from {lo} to {hi}{unit}, are at odds with "
                      "the data, if the comparison regions show what would have happened without the policies."
                      if en else
                      f"Solo che effetti oltre gli estremi dell'intervallo, da {lo} a {hi}{unit}, sono in contrasto "
                      "con i dati, se le regioni di confronto mostrano che cosa sarebbe accaduto senza le politiche.")
        not_identified = (f"The sign: the interval includes both a fall and a rise. {unseen}" if en else
                          f"Il segno: l'intervallo comprende sia un calo sia un aumento. {unseen}")
    else:
        side = {"rose": ("a rise", "un aumento"), "fell": ("a fall", "un calo")}[verb][0 if en else 1]
        identified = (f"{side[0].upper()}{side[1:]}: the interval, from {lo} to {hi}{unit}, excludes zero, under the "
                      "design's assumptions." if en else
                      f"{side[0].upper()}{side[1:]}: l'intervallo, da {lo} a {hi}{unit}, esclude lo zero, sotto le "
                      "ipotesi del disegno.")
        not_identified = (f"The size precisely. {unseen}" if en else f"La dimensione con precisione. {unseen}")
    return identified, not_identified


def brief_words(analysis: Analysis, values: Published) -> BriefWords:
    """The briefs' words for one run of ``notebooks/italy_did.md`` (see the module docstring for the rules)."""
    studies_en = event_study_series(analysis)
    window = event_study_window(studies_en) if studies_en else (0, 0)
    counts = pre_period_counts(studies_en, window)
    n_pre, n_excl = next(iter(counts.values()), (0, 0))

    def pre_text(lang: str) -> str:
        if not counts:
            return "no event study" if lang == "en" else "nessun event study"
        parts = []
        for label, (n, k) in counts.items():
            name = label if lang == "en" else to_italian(label)
            parts.append(f"{k} of {n} for {name}" if lang == "en" else f"{k} su {n} per {name}")
        return ((f"before the start, yearly 95 per cent intervals that exclude zero: {'; '.join(parts)}")
                if lang == "en" else
                f"prima dell'avvio, intervalli annuali al 95 per cento che escludono lo zero: {'; '.join(parts)}")

    drops = dropped_counts(analysis.panel.dropped)
    if values.ci_low is None:
        label = "no valid interval (one treated region)"
        label_it = "nessun intervallo valido (una sola regione trattata)"
    else:
        label = f"95 % interval with t({values.df}) critical values, {values.n_clusters} regions"
        label_it = f"intervallo al 95 % con valori critici t({values.df}), {values.n_clusters} regioni"
    def verdict_text(lang: str) -> str:
        if values.verdict_interval == "none":
            return verdict_label(values, lang)
        lo, hi, unit = interval_ends(values, lang)
        return (f"from {lo} to {hi}{unit}" if lang == "en" else f"da {lo} a {hi}{unit}")

    identified, not_identified = identification_text(values, "en")
    identified_it, not_identified_it = identification_text(values, "it")
    p = values.pretrend_p_value
    return BriefWords(
        unit_words=outcome_unit(values.outcome, values.transform),  # type: ignore[arg-type]
        scale_words=scale_words(values.outcome, values.transform),
        scale_words_it=scale_words(values.outcome, values.transform, "it"),
        interval_label=label, interval_label_it=label_it,
        verdict_label=verdict_label(values), verdict_label_it=verdict_label(values, "it"),
        verdict_text=verdict_text("en"), verdict_text_it=verdict_text("it"),
        pretrend_fails=bool(p is not None and math.isfinite(p) and p < PRETREND_LEVEL),
        pretrend_verdict=pretrend_verdict(p), pretrend_verdict_it=pretrend_verdict(p, "it"),
        n_pre_intervals=n_pre, n_pre_excluding_zero=n_excl,
        pre_intervals_text=pre_text("en"), pre_intervals_text_it=pre_text("it"),
        n_dropped_already_treated=drops["already_treated"], n_dropped_undated=drops["undated"],
        n_dropped_outside_area=drops["outside_area"], n_dropped_other=drops["other_treated"] + drops["other"],
        dropped_text=_dropped_text(drops, values.first_year, "en"),
        dropped_text_it=_dropped_text(drops, values.first_year, "it"),
        identified_text=identified, identified_text_it=identified_it,
        not_identified_text=not_identified, not_identified_text_it=not_identified_it,
        estimate_it=number_it(values.estimate), ci_low_it=number_it(values.ci_low),
        ci_high_it=number_it(values.ci_high), mde_it=number_it(values.mde),
        rm_lb_mbar1_it=number_it(values.rm_lb_mbar1), rm_ub_mbar1_it=number_it(values.rm_ub_mbar1),
        loo_min_it=number_it(values.loo_min), loo_max_it=number_it(values.loo_max),
        pretrend_p_text_it=_p_text_it(p), ri_p_text_it=_p_text_it(values.ri_p_value),
    )


__all__ = ["DROP_REASONS", "BriefWords", "brief_words", "dropped_counts", "identification_text", "pre_period_counts",
           "scale_words"]
