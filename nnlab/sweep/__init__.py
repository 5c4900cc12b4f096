"""`nnlab sweep`: a command over a grid of settings x seeds (cli: the click face; driver: the run loop;
executors: process pool and Ray; report: the summary table and plots)."""
