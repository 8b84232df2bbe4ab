"""Fetch: download, verify and safely extract the sources ``dataset.source(s)`` names."""
