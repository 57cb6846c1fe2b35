"""Counting parameters and output shapes (exercise `param_count`)."""
