"""Simulators for `honk demo` and the tests: Messages API, virtual device, sample repo."""
