"""Scheduled drift check: the last window of capture vs the baseline, PSI metrics, retraining."""
