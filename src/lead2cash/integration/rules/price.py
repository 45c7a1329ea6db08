"""price rule (placeholder)."""
