"""Honk Player: a tiny mobile-style music player (the `honk demo` sample app)."""
