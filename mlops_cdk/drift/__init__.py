"""Data-drift detection: a training baseline, captured traffic, and the PSI between them.

Pure Python (no numpy), so the scheduled drift Lambda ships it without a layer, and nothing here
touches the network at import.
"""
