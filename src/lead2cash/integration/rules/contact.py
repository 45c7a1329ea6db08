"""contact rule (placeholder)."""
