"""Delivery targets: student zip, Gradescope, otter, CI templates, and submission intake."""
