"""Validation: balance, diversity, quality, structure and leakage scores of a built version."""
