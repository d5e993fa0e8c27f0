#!/usr/bin/env python3
"""Small service helpers for the Makefile, the dev runner and CI (no Django needed).

services.py ping-redis URL       exit 0 when Redis at URL answers PING
services.py ping-postgres URL    exit 0 when the PostgreSQL server at URL accepts a login
services.py ensure-db URL        create URL's database when it does not exist
"""

from __future__ import annotations

import sys
from urllib.parse import unquote, urlsplit

TIMEOUT = 2


def ping_redis(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT).ping())
    except redis.exceptions.RedisError:
        return False


def _connect(url: str, dbname: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname=dbname,
        connect_timeout=TIMEOUT,
        autocommit=True,
    )


def ping_postgres(url: str) -> bool:
    import psycopg

    try:
        with _connect(url, "postgres") as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def ensure_db(url: str) -> bool:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    if not name:
        print(f"no database name in {url}", file=sys.stderr)
        return False
    with _connect(url, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    return True


COMMANDS = {"ping-redis": ping_redis, "ping-postgres": ping_postgres, "ensure-db": ensure_db}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(0 if COMMANDS[sys.argv[1]](sys.argv[2]) else 1)
