"""Synthesis: rule-based emotion-labelled multi-part pieces, their rendering, and the synthesize stage."""
