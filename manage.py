#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memoryserver.settings")
    from django.core.management import execute_from_command_line
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from memoryserver.config import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        sys.stderr.write(f"Invalid configuration:\n{error}\n")
        sys.exit(2)
    except (RedisConnectionError, RedisTimeoutError) as error:  # as `agent-memory` says it
        sys.stderr.write(f"Error: Redis is unreachable ({error}). Is REDIS_URL right and Redis running?\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
