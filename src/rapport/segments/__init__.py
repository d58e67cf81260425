"""Segments: groups of customers, listed by hand or described by conditions."""
