"""Hostile inputs: documents that cost far more to read than their size, and what each must be refused with."""
