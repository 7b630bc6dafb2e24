"""The server's processes and their wiring: the ASGI application (`server.asgi`, with the
lean API handler, body limits and lifespan), the URLconf, the `agent-memory` command
(`server.cli`), the background worker, the local Redis launchers and the manage.py
commands. It imports every layer below; nothing imports it."""
