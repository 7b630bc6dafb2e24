"""Console views, one module per page area."""
