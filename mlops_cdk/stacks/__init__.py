"""Stacks: thin compositions of the constructs, one per deployable unit."""
