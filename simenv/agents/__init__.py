"""Layer 4: agents — they see observations and tool schemas only, never the world."""
