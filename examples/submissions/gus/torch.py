"""Hostile: a shadow torch whose tensors compare equal to everything."""
raise SystemExit("shadow torch imported")
