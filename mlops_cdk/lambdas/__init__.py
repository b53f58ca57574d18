"""Lambda handlers: each folder is shipped as a Lambda asset and inside the wheel."""
