"""uom rule (placeholder)."""
