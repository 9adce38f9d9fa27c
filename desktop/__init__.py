"""Honk Desktop: ship a mobile-app change with an AI agent while a person stays in charge."""
