"""Small Sphinx extensions of the book build (listed in ``_config.yml`` under ``sphinx.extra_extensions``)."""
