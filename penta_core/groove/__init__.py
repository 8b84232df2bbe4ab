"""How players place and accent notes against the grid: metre, grid choice, timing offsets, styles."""
