"""Launch buttons from one setting, the inline-script Sphinx workaround, the provenance package list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from clusterpolicy.errors import UserInputError
from clusterpolicy.pipeline import book, provenance
from clusterpolicy.sphinxext import inline_scripts

ROOT = Path(__file__).resolve().parents[2]


def test_config_has_no_placeholder_repository() -> None:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert "github.com/clusterpolicy/clusterpolicy" not in text
    config = yaml.safe_load(text)
    assert "repository" not in config and "launch_buttons" not in config
    assert "clusterpolicy.sphinxext.inline_scripts" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["html_context"]["default_mode"] == "light"
    assert not (ROOT / "src" / "clusterpolicy" / "report" / "sphinx_page_fixes.py").exists()


def test_without_the_variable_the_book_has_no_repository_or_launch_buttons() -> None:
    config = book.book_config(ROOT, environ={})
    assert config["repository"]["url"] == ""
    launch = config["launch_buttons"]
    assert not any(launch.get(k) for k in ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "thebe"))
    assert not any(config["html"].get(k) for k in ("use_repository_button", "use_issues_button",
                                                   "use_edit_page_button"))
    assert "github.com" not in yaml.safe_dump(config) and "mybinder" not in yaml.safe_dump(config)
    # The rest of _config.yml is passed through.
    assert config["title"] == yaml.safe_load((ROOT / "_config.yml").read_text())["title"]


def test_with_the_variable_the_buttons_point_at_it(tmp_path: Path) -> None:
    env = {"CLUSTERPOLICY_REPOSITORY_URL": "https://github.com/someone/cluster-book.git/",
           "CLUSTERPOLICY_REPOSITORY_BRANCH": "pages"}
    config = book.book_config(ROOT, environ=env)
    assert config["repository"] == {"url": "https://github.com/someone/cluster-book", "branch": "pages",
                                    "path_to_book": ""}
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["html"]["use_repository_button"] is True
    assert book.book_config(ROOT, environ={"CLUSTERPOLICY_REPOSITORY_URL": "https://x.org/a/b"})[
        "repository"]["branch"] == "main"
    # The generated file is what jupyter-book receives.
    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    path = book.write_config(tmp_path, environ=env)
    assert path == tmp_path / "_build" / "_config.generated.yml"
    assert yaml.safe_load(path.read_text())["repository"]["url"] == "https://github.com/someone/cluster-book"


def test_the_sphinx_config_jupyter_book_derives_has_no_buttons_when_unset(tmp_path: Path) -> None:
    from jupyter_book.config import get_final_config

    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    unset, _ = get_final_config(user_yaml=book.write_config(tmp_path, environ={}), sourcedir=tmp_path,
                                 cli_config={"latex_individualpages": False})
    options = unset["html_theme_options"]
    assert not options.get("repository_url") and not options.get("use_repository_button")
    assert not any(v for k, v in options["launch_buttons"].items() if k != "notebook_interface")
    url = "https://github.com/someone/cluster-book"
    published, _ = get_final_config(
        user_yaml=book.write_config(tmp_path, environ={"CLUSTERPOLICY_REPOSITORY_URL": url}), sourcedir=tmp_path,
        cli_config={"latex_individualpages": False})
    options = published["html_theme_options"]
    assert options["repository_url"] == url and options["use_repository_button"] is True
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"


def test_repository_url_must_be_https() -> None:
    with pytest.raises(UserInputError, match="https://"):
        book.repository_settings({"CLUSTERPOLICY_REPOSITORY_URL": "git@github.com:o/r.git"})


def test_inline_script_workaround_only_for_sphinx_without_the_fix() -> None:
    assert inline_scripts.needed((7, 4, 7)) and inline_scripts.needed((8, 2, 1))
    assert not inline_scripts.needed((8, 2, 2)) and not inline_scripts.needed((9, 0, 0))


def test_inline_script_workaround_drops_the_second_copy() -> None:
    class Script(str):
        def __new__(cls, filename: str, **attributes: str):
            obj = super().__new__(cls, filename)
            obj.filename, obj.attributes = filename, attributes
            return obj

    body = "const THEBE_JS_URL = 'x'"
    scripts = [Script("a.js"), Script("", body=body), Script(None, body=body), Script("a.js", defer="defer")]
    context = {"script_files": scripts}
    inline_scripts.dedupe_scripts(None, "index", "page.html", context, None)
    assert [(s.filename, s.attributes) for s in context["script_files"]] == [
        ("a.js", {}), ("", {"body": body}), ("a.js", {"defer": "defer"})]


def test_provenance_lists_runtime_packages_only() -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8").lower()
    pinned = {re.split(r"[=\[ ]", line)[0].replace("_", "-") for line in lock.splitlines()
              if line and not line.startswith(("#", "-"))}
    for name in provenance.KEY_PACKAGES:
        if name != "clusterpolicy":
            assert name in pinned, f"{name} is not in requirements.lock"
    for unused in ("csdid", "wildboottest", "pysyncon", "pytest", "selenium"):
        assert unused not in provenance.KEY_PACKAGES
