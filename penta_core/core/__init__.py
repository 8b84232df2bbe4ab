"""Plumbing every stage uses: errors, atomic io, the dataset layout, the lock, params and the stage runner."""
