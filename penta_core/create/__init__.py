"""The dataset folder structure and config.json."""
