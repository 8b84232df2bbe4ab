"""Recipes for known public datasets: where their labels are, how their families form, their licence and split."""
