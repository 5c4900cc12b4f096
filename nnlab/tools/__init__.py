"""Commands that work on runs rather than run an experiment."""
