"""The Messages API's wire format: the raw SSE stream read as JSON events."""
