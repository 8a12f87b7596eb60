"""simenv view: a local web viewer."""
