"""End-to-end tests: the built collector, Prometheus and instrumented apps as real processes."""
