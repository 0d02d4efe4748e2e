"""Benchmarks: the reference workloads and their side-by-side timing against PyTorch."""
