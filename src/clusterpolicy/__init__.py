"""clusterpolicy: evaluate regional cluster policies with reproducible, parameterised notebooks.

Sub-packages, one concern each (see ``design.md`` in the shared folder):

- :mod:`clusterpolicy.data`: loaders, builders raw -> derived, panel schema and validation, synthetic data;
- :mod:`clusterpolicy.estimate`: estimators sharing one result type, inference, power;
- :mod:`clusterpolicy.report`: figure theme, standard figures, glue helpers for notebooks;
- :mod:`clusterpolicy.pipeline`: run manifest, cache, executors, book build, provenance;
- :mod:`clusterpolicy.cli`: the ``clusterpolicy`` command.
"""

__version__ = "0.1.0"
