"""REST views of the upstream-compatible /v1 API: parse, convert, call the service, convert back."""
