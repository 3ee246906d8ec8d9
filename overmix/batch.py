"""Many scenes at once on Dask (issue 8); not built yet."""
