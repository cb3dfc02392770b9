"""Plots: each takes a computed table and returns a matplotlib Figure."""
