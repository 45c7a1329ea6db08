"""invoice rule (placeholder)."""
