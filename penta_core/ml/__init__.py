"""Machine-learning side of penta_core: datasets, features and models."""
