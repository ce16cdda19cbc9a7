"""Study rules of the book's analyses, one module per template.

:mod:`clusterpolicy.study.treatments` maps the audited policy calendar (``data/policy/cluster_policies.csv``) to one
treatment cohort per Italian region under explicit, named definitions. :mod:`clusterpolicy.study.context` (template
``context_policies.md``) and :mod:`clusterpolicy.study.data_overview` (template ``data_overview.md``) return the
context and data pages' published numbers and frames.
"""
