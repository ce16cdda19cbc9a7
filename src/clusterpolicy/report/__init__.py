"""Reporting: one figure theme, standard figures from result objects, glue helpers for notebooks.

Report helpers read result objects or tidy frames; they never re-estimate.
"""
