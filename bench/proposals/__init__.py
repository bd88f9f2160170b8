"""Measured proposals for changes outside bench/ (see each module)."""
