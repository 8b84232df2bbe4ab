"""The baseline classifier: the dataset's health check on its own features and splits."""
