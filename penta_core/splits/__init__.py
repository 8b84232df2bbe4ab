"""Splits: families of samples (groups) and their leak-free train/val/test assignment."""
