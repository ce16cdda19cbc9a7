"""Sphinx extension: two page-level fixes for the theme stack jupyter-book 1.x pins (Sphinx 7.4,
sphinx-book-theme 1.3), so that the book's pages load without JavaScript console errors.

1. Drop repeated inline ``<script>`` bodies from each HTML page.

With Sphinx 7.4, scripts that extensions register with ``app.add_js_file(None, body=...)`` reach the page twice
(once from the registry as ``filename=''`` and once from the builder as ``filename=None``, which Sphinx does not
recognise as equal). For sphinx-thebe the body declares ``const THEBE_JS_URL``, so the second copy is a
JavaScript ``SyntaxError`` in every page's console. Keeping the first copy of each identical script restores the
intended page.

2. Give the page a colour mode. sphinx-book-theme leaves pydata-sphinx-theme's ``default_mode`` empty and rejects
the theme option, so on a first visit the theme script logs "Got invalid theme mode" as an error. The book is
designed in light mode, so pages start in it (the reader's own choice, once made, is kept by the theme).

Listed in ``_config.yml`` under ``sphinx.extra_extensions``.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def fix_page(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    # Late priority: run after the extensions that add page scripts in their own html-page-context handlers.
    app.connect("html-page-context", fix_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
