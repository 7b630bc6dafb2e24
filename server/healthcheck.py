"""Container health check: `python -m server.healthcheck [--port P]`.

Exits 0 when `GET http://127.0.0.1:P/health` answers 200, else 1. P defaults to PORT
(8000). The Host header is the first of ALLOWED_HOSTS, since Django refuses any other with
400. It imports no Django, so a check costs a few milliseconds of CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence


def host_header() -> str:
    """A host name Django accepts: the first of ALLOWED_HOSTS, or localhost for '*' or none."""
    first = (os.environ.get("ALLOWED_HOSTS") or "").split(",")[0].strip().lstrip(".")
    return "localhost" if first in ("", "*") else first


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.healthcheck", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--timeout", type=float, default=3.0)
    options = parser.parse_args(argv)
    request = urllib.request.Request(
        f"http://127.0.0.1:{options.port}/health", headers={"Host": host_header()}
    )
    try:
        with urllib.request.urlopen(request, timeout=options.timeout) as response:
            healthy = response.status == 200
    except (OSError, urllib.error.URLError) as error:
        sys.stderr.write(f"unhealthy: {error}\n")
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
