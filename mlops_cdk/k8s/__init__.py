"""Kubernetes manifests as pure Python functions (no CDK needed to call them)."""
