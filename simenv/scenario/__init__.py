"""Layer 5: scenario files — schema, loader with file:field errors, builder."""
