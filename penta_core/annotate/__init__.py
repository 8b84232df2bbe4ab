"""Labels from folder names through a per-target-model vocabulary."""
