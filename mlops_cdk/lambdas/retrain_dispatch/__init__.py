"""Retraining dispatcher Lambda: S3 ``incoming/`` objects → one GitHub or SageMaker dispatch."""
