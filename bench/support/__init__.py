"""Code the benchmarks share or that a benchmark keeps apart from its main script (`make bench`
runs every bench/*.py; nothing here is a benchmark of its own)."""
