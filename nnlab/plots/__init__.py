"""Figures, one module per subcommand, drawn only from what a run logged (summary and metrics)."""
