"""HTTP API -> SageMaker InvokeEndpoint adapter for the v1 predict contract."""
