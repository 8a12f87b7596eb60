"""Layer 6: the engine loop and the audit log."""
