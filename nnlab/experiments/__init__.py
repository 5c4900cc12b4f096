"""One module per subcommand: a Config dataclass, small pure helpers, and run(config, rec)."""
