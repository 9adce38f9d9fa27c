"""Simulators used by `honk demo` and the tests: scripted Messages API, virtual device, sample repo."""
