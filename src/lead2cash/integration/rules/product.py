"""product rule (placeholder)."""
