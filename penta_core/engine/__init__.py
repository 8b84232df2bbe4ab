"""How per-sample work runs: supervised worker processes, per-sample seeding and cache fingerprints."""
