"""Target models: what each model trains on, derived from the data, declared one module per model."""
