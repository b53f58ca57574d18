"""Helper scripts run by the Makefile as modules (``python -m scripts.<name>`` from the root).

Run that way, the repository root is on ``sys.path``, so they import ``mlops_cdk`` directly.
"""
