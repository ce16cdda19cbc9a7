"""The book's content rules: no number typed by hand into prose, alt text on every figure, every seed
programme and both briefs present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
GENERATED = {BOOK / "appendix" / "exhibits.md", BOOK / "appendix" / "reproducibility.md"}
PROSE = sorted(p for p in BOOK.rglob("*.md") if p not in GENERATED and "runs" not in p.relative_to(BOOK).parts)

# Names and references that contain digits but are not results.
ALLOWED = [
    r"ClusteriX\s+2\.0", r"S3-4AlpClusters", r"Horizon\s+2020", r"\bH2020\b", r"\bFP7\b", r"\bNUTS\s?[0-3]\b",
    r"\bInterreg\s+IVC\b", r"\bRCO\s?\d+\b", r"\bCO\d+\b", r"\bS3\b", r"\bR&D\b", r"\bCIS\d?\b", r"\bEU-?\d+\b",
    r"\b[A-Z]{2}[0-9A-Z]{1,3}\b(?=[^a-z]|$)",  # NUTS codes such as ITH5, ITC4, AT12
    # Legal acts are identifiers: "law 13/2014", "LR 7/2002", "DGR 583", "Decree n. 5981", "D.D. 257/Ric".
    r"\b(?:[Ll]aw|LR|L\.R\.|DGR|DPReg|DD|D\.D\.|[Dd]ecree|[Rr]egional law)\s*(?:n\.\s*)?\d+(?:[-/]\d+)*(?:/\w+)?",
    r"\b(?:19[5-9]\d|20[0-3]\d)s?\b",  # years (facts from the calendar and dossier)
    r"\b(?:19|20)\d\d[-/](?:19|20)?\d\d\b",  # year ranges
    # Conventions, not results: the names of the treatment definitions, the confidence and significance levels of
    # the inference rule, and its t(G-1) critical values.
    r"\bT1(?:_high_medium)?\b", r"\bT2\b", r"\b95 per cent(?:o)?\b", r"\b5 per cent(?:o)?\b", r"\bt?\(?G\s*[−-]\s*1\)?",
]
ROLE = re.compile(r"\{[a-zA-Z:-]+\}`[^`]*`")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
FENCE = re.compile(r"^(```+|~~~+)(.*)$")


def prose_text(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the prose lines, without code, roles, links and directive headers/options."""
    lines = HTML_COMMENT.sub("", path.read_text(encoding="utf-8")).splitlines()
    out: list[tuple[int, str]] = []
    fence: str | None = None
    code = False
    in_front_matter = bool(lines) and lines[0].strip() == "---"
    for number, line in enumerate(lines, start=1):
        if in_front_matter:
            if number > 1 and line.strip() == "---":
                in_front_matter = False
            continue
        match = FENCE.match(line.strip())
        if match:
            marker, info = match.groups()
            if fence is None:
                fence, code = marker, not info.strip().startswith("{")
                continue
            if marker == fence and not info.strip():
                fence, code = None, False
                continue
        if code:
            continue
        if fence is not None and re.match(r"^\s*:[\w-]+:", line):
            continue  # directive options (:alt:, :name:, :class: ...)
        if re.match(r"^\s*\(?[\w-]+\)=\s*$", line):
            continue  # MyST targets
        text = ROLE.sub(" ", line)
        text = INLINE_CODE.sub(" ", text)
        text = LINK_TARGET.sub("]", text)
        for pattern in ALLOWED:
            text = re.sub(pattern, " ", text)
        out.append((number, text))
    return out


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_no_number_typed_into_prose(path: Path) -> None:
    offending = [(n, t.strip()) for n, t in prose_text(path) if re.search(r"\d", t)]
    assert offending == [], (
        f"{path.relative_to(ROOT)}: numbers must come from runs through glue roles; found {offending[:5]}"
    )


def test_prose_check_catches_typed_numbers(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("# T\n\nThe effect was 0.25 in {glue:text}`runs/a.ipynb::x:.2f` regions since 2014.\n")
    assert [n for n, t in prose_text(page) if re.search(r"\d", t)] == [3]
    page.write_text("# T\n\nThe effect was {glue:text}`runs/a.ipynb::x:.2f` in ITH5 since 2017 (law 13/2014).\n")
    assert [n for n, t in prose_text(page) if re.search(r"\d", t)] == []


def test_prose_pages_use_glue() -> None:
    glued = [p for p in PROSE if "{glue:" in p.read_text(encoding="utf-8")]
    assert len(glued) >= 5, "the briefs and chapters take their numbers from runs"


def test_every_figure_directive_has_alt_text() -> None:
    for path in PROSE:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```\{(?:figure|image)\}[^\n]*\n(.*?)```", text, flags=re.DOTALL):
            assert re.search(r"^:alt:\s*\S", block, flags=re.MULTILINE), f"{path.name}: figure without :alt:"


def _structure_files() -> list[str]:
    structure = yaml.safe_load((BOOK / "_structure.yml").read_text())
    return [ch for part in structure["parts"] if isinstance(part, dict) for ch in part["chapters"]]


def test_briefs_and_programme_pages_exist() -> None:
    files = _structure_files()
    for page in ("book/brief_en", "book/brief_it", "book/programmes/lombardy", "book/programmes/emilia_romagna",
                 "book/programmes/veneto", "book/programmes/clusterix", "book/programmes/s3_4alpclusters"):
        assert page in files
        assert (ROOT / f"{page}.md").exists()
        assert "being written" not in (ROOT / f"{page}.md").read_text()
    # the design, fixed before the results, comes before every page that reports one; then the brief
    assert files.index("book/design") == 0, "the design page comes first"
    assert files.index("book/brief_en") == 1, "the brief comes right after the design"


EXECUTED = sorted((BOOK / "runs").glob("*.ipynb")) if (BOOK / "runs").exists() else []


@pytest.mark.skipif(not EXECUTED, reason="no executed run notebooks (run `make book` first)")
@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.stem)
def test_every_figure_in_runs_has_alt_text(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap is None:
                assert "image/png" not in data and "image/svg+xml" not in data, (
                    f"{path.stem}: a figure was displayed without alt text; use report.figures.show_figure"
                )
            html = "".join(data.get("text/html", []))
            for img in re.findall(r"<img\b[^>]*>", html):
                assert re.search(r'alt="[^"]+"', img), f"{path.stem}: <img> without alt text"


# Helpers that return a value: a template cell ending with a bare call to one prints it on the run page
# (e.g. "PosixPath('.../event-study-it.png')"). Display helpers (show_figure, show_table) return None.
VALUE_RETURNING = {"save_figure", "save_table", "write_figure", "publish", "publish_many", "publish_fields",
                   "publish_result"}
TEMPLATES = sorted((ROOT / "notebooks").glob("*.md"))


def _cells_ending_in_value(path: Path) -> list[str]:
    import ast

    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.DOTALL):
        source = "\n".join(line for line in match.group(1).splitlines() if not line.startswith(":tags:"))
        body = ast.parse(source).body
        if source.rstrip().endswith(";") or not body:
            continue
        last = body[-1]
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            name = ast.unparse(last.value.func).split(".")[-1]
            if name in VALUE_RETURNING:
                found.append(f"line {text[:match.start()].count(chr(10)) + 1}: {name}(...)")
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_template_cell_prints_a_helper_return_value(path: Path) -> None:
    assert _cells_ending_in_value(path) == [], (
        f"{path.name}: a cell ends with a call whose return value Jupyter prints; assign it (`_ = ...`) or end "
        "the line with ';'"
    )


def test_cell_check_catches_a_trailing_save_figure(tmp_path: Path) -> None:
    page = tmp_path / "t.md"
    page.write_text("```{code-cell} ipython3\nx = 1\nsave_figure(fig, run_id=r, name='a')\n```\n")
    assert _cells_ending_in_value(page) == ["line 1: save_figure(...)"]
    page.write_text("```{code-cell} ipython3\n_ = save_figure(fig, run_id=r, name='a')\n```\n")
    assert _cells_ending_in_value(page) == []


GLUE_REF = re.compile(r"\{glue:text\}`runs/([\w-]+)\.ipynb::(\w+):?([^`]*)`")


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_every_glue_reference_is_a_published_key(path: Path) -> None:
    """A prose page glues only keys its runs publish (results/<run>.json), with a format the value accepts."""
    problems = []
    for run, key, spec in GLUE_REF.findall(path.read_text(encoding="utf-8")):
        results = ROOT / "results" / f"{run}.json"
        if not results.exists():
            problems.append(f"{run}: no results/{run}.json")
            continue
        values = json.loads(results.read_text(encoding="utf-8"))["values"]
        if key not in values:
            problems.append(f"{run}::{key} is not published")
            continue
        if not spec:
            # myst-nb splits `path::key` at its last colon, so a reference without a format looks up a wrong key
            problems.append(f"{run}::{key} has no format (write :s for text)")
            continue
        try:
            format(values[key], spec)
        except (TypeError, ValueError) as err:
            problems.append(f"{run}::{key}:{spec} cannot format {values[key]!r} ({err})")
    assert problems == [], f"{path.relative_to(ROOT)}: {problems[:5]}"


def test_not_published_fields_are_left_out_of_the_glue() -> None:
    from dataclasses import dataclass

    from clusterpolicy.report import glue

    @dataclass(frozen=True)
    class Values:
        shown: int
        table: list[int] = glue.not_published(default_factory=list)

    published: list[str] = []
    original = glue.publish
    glue.publish = lambda name, value: published.append(name) or value  # type: ignore[assignment]
    try:
        out = glue.publish_fields(Values(shown=3, table=[1]))
    finally:
        glue.publish = original
    assert out == {"shown": 3} and published == ["shown"]
    assert "table" not in repr(Values(shown=1))
