"""Repository tools (not installed with the dascourse package): run them from the repository root, e.g. python -m tools.learner."""
