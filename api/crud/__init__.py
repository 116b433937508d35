"""Data access: keyword-only functions that take a session and leave committing to the caller."""
