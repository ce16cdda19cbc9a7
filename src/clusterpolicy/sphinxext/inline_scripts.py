"""Sphinx extension: write each inline ``<script>`` of a page once.

Workaround for a Sphinx bug fixed upstream in sphinx-doc/sphinx#13402 ("Ensure inline <script/> tags are
written exactly once"), released in **Sphinx 8.2.2** (2 March 2025). jupyter-book 1.x pins Sphinx 7.x, which has
the bug: a script registered with ``app.add_js_file(None, body=...)`` reaches each page twice (once from the
registry with ``filename=''``, once from the builder with ``filename=None``, which Sphinx does not treat as
equal). sphinx-thebe's body declares ``const THEBE_JS_URL``, so the second copy is a JavaScript ``SyntaxError``
in every page's console. Keeping the first copy of each identical script restores the intended page.

On Sphinx 8.2.2 or later :func:`setup` does nothing (and logs why); remove this module when the book moves to
such a Sphinx.
"""

from __future__ import annotations

from typing import Any

#: First Sphinx release containing sphinx-doc/sphinx#13402.
FIXED_IN = (8, 2, 2)


def _key(script: Any) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """``html-page-context`` handler: drop repeated identical scripts from ``context["script_files"]``."""
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


def needed(version_info: tuple[Any, ...]) -> bool:
    """Whether the Sphinx with this ``version_info`` (``sphinx.version_info``) still has the bug."""
    return tuple(int(part) for part in version_info[:3]) < FIXED_IN


def setup(app: Any) -> dict[str, Any]:
    import sphinx
    from sphinx.util import logging

    if needed(sphinx.version_info):
        # Late priority: after the extensions that add page scripts in their own html-page-context handlers.
        app.connect("html-page-context", dedupe_scripts, priority=900)
    else:
        logging.getLogger(__name__).info(
            "clusterpolicy.sphinxext.inline_scripts: Sphinx %s already writes inline scripts once "
            "(sphinx-doc/sphinx#13402, fixed in 8.2.2); the workaround is off", sphinx.__version__,
        )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
