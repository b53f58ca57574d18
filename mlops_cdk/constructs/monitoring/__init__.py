"""Custom dashboard sections and alarms for what ``cdk-monitoring-constructs`` does not cover."""
