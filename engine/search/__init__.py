"""Hyperparameter sweeps with Optuna: the search space, one trial as one recorded run, the
study (SQLite beside the run store, or a shared PostgreSQL across machines) and the worker
processes that run trials side by side."""
