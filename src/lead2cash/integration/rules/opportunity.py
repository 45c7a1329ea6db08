"""opportunity rule (placeholder)."""
