"""The pipeline: manifest -> cache check -> executor (local pool | Dask) -> papermill -> results/ -> book.

It runs notebooks; it never estimates anything itself.
"""
