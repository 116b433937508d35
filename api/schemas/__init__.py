"""Request and response bodies of the Unkey v2 API, field for field."""
