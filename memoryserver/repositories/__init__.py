"""The core's Redis keys, one module per owner: its key names and every command on them.

Only repositories and the client factory (memoryserver.redis) import redis (.importlinter,
contract `redis`); the modules with the logic call them.
"""
