"""Benchmarks: each measures chatrec against a baseline on the same machine, in one run."""
