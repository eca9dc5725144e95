"""Benchmarks: run with ``python -m bench.NAME``; each prints ratios against raw baselines
measured in the same run and writes its figures as JSON under bench/results/."""
