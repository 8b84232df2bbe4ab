"""Dataset versions: what changed between two builds, sample by sample."""
