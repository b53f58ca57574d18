"""Lambda handlers, each in its own package, shipped as asset directories."""
