"""dockyard's control plane: the Unkey-v2-compatible REST API."""
