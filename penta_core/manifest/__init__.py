"""The manifest: every stage's index merged into one record per sample."""
