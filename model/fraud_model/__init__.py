"""Fraud-detection model: synthetic data, training with an evaluation gate, packaging, serving.

Submodules are imported on demand so that the model server image, which ships only the serving
dependencies, never imports scikit-learn or MLflow.
"""
