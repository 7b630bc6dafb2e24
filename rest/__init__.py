"""The REST API, one home for both of its dialects: the server's own routes (`rest.seed`,
mounted at /) and the upstream-compatible /v1 routes (`rest.v1`, whose shapes and
translation live in the `upstream` package). Views parse the request, call a service and
render its answer; the plumbing they share (authentication, parsing, rendering) is in
`rest.plumbing`, and the error answers in `rest.errors`."""
