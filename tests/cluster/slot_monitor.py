"""Watches every command a Redis server runs (MONITOR) and finds the multi-key operations
whose keys span hash slots: a script call with the commands it ran, a MULTI/EXEC block, or
one command with several keys. Such an operation fails on a sharded Redis (CROSSSLOT)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from redis.crc import key_slot

STOP = "slot-monitor-stop"
_LINE = re.compile(rb"^[\d.]+ \[\d+ ([^\]]+)\] (.*)$")
_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b", b'"': b'"', b"\\": b"\\"}
# Commands whose every argument is a key, all but the last, or the first two; any other
# keyed command we send names one key, first.
_ALL_KEYS = {"DEL", "UNLINK", "EXISTS", "MGET", "WATCH", "TOUCH"}
_ALL_BUT_LAST = {"JSON.MGET"}
_TWO_KEYS = {"RENAME", "RENAMENX", "COPY", "SMOVE"}
_KEYLESS = {
    "MULTI", "EXEC", "DISCARD", "UNWATCH", "PING", "ECHO", "INFO", "HELLO", "CLIENT", "COMMAND", "SCAN",
    "SCRIPT", "FLUSHDB", "FLUSHALL", "SELECT", "MONITOR", "TIME", "DBSIZE", "CONFIG", "MODULE",
}  # fmt: skip


def _unescaped(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\" and i + 1 < len(raw):
            nxt = raw[i + 1 : i + 2]
            if nxt == b"x":
                out += bytes([int(raw[i + 2 : i + 4], 16)])
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += raw[i : i + 1]
        i += 1
    return bytes(out)


def keys_of(args: list[bytes]) -> list[bytes]:
    """The keys a command names (our commands: see the tables above)."""
    name = args[0].decode().upper()
    rest = args[1:]
    if name in _KEYLESS or name.startswith("FT.") or not rest:
        return []
    if name in ("EVAL", "EVALSHA", "EVALSHA_RO", "EVAL_RO", "FCALL"):
        return rest[2 : 2 + int(rest[1])]
    if name in _ALL_KEYS:
        return rest
    if name in _ALL_BUT_LAST:
        return rest[:-1]
    if name in _TWO_KEYS:
        return rest[:2]
    return rest[:1]


@dataclass
class Operation:
    """One unit that must stay in one slot, with the commands it ran."""

    commands: list[list[bytes]] = field(default_factory=list)

    def named_keys(self) -> set[bytes]:
        return {key for command in self.commands for key in keys_of(command)}

    def slots(self) -> set[int]:
        return {key_slot(key) for key in self.named_keys()}


@dataclass
class SlotMonitor:
    operations: list[Operation] = field(default_factory=list)

    def feed(self, lines: list[tuple[str, list[bytes]]]) -> None:
        """Group the watched commands: a script call takes the `lua` commands after it; a
        MULTI takes its client's commands up to EXEC."""
        transactions: dict[str, Operation] = {}
        current: Operation | None = None
        for client, args in lines:
            if client == "lua" and current is not None:
                current.commands.append(args)
                continue
            name = args[0].decode().upper()
            if client in transactions:
                transactions[client].commands.append(args)
                if name in ("EXEC", "DISCARD"):
                    self.operations.append(transactions.pop(client))
                continue
            current = Operation([args])
            if name == "MULTI":
                transactions[client] = current
            else:
                self.operations.append(current)

    def scripts_run(self) -> set[str]:
        """The SHA1s of the scripts called."""
        return {
            op.commands[0][1].decode().lower()
            for op in self.operations
            if op.commands[0][0].upper() == b"EVALSHA"
        }

    def crossing(self, ignore_prefixes: tuple[bytes, ...] = ()) -> list[Operation]:
        """The operations whose keys span more than one slot."""
        return [
            op
            for op in self.operations
            if len(op.slots()) > 1 and not any(key.startswith(ignore_prefixes) for key in op.named_keys())
        ]


@contextmanager
def watching(url: str) -> Iterator[SlotMonitor]:
    """Every command the server at `url` runs inside the block, grouped into operations."""
    lines: list[tuple[str, list[bytes]]] = []
    ready = threading.Event()

    def listen() -> None:
        with redis.Redis.from_url(url) as client, client.monitor() as monitor:
            ready.set()
            while True:
                raw = monitor.connection.read_response()
                match = _LINE.match(raw if isinstance(raw, bytes) else raw.encode())
                if match is None:
                    continue
                args = [_unescaped(arg) for arg in _ARG.findall(match.group(2))]
                if args[:2] == [b"ECHO", STOP.encode()]:
                    return
                lines.append((match.group(1).decode(), args))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(10)
    result = SlotMonitor()
    try:
        yield result
    finally:
        with redis.Redis.from_url(url) as client:
            client.echo(STOP)
        thread.join(timeout=30)
        result.feed(lines)
