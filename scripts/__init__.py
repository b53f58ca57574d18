"""Helper scripts run by the Makefile."""
