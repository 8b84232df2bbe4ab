"""Dataset preparation: feature extraction, augmentation and synthesis."""
