"""The upstream server's (0.15) request and response formats, and their translation.

One home for both transports that speak them: the /v1 REST API (rest.v1) and the MCP tools
(mcp_app). Models of the upstream shapes (`schemas` for /v1 bodies, `arguments` and
`filters` for tool arguments and filter objects), their translation into this server's
service requests (`search`, `convert`, `prompt`) and back into upstream responses
(`convert`, `task_status`), and upstream's client-model semantics (`windows`).
"""
