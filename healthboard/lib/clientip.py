"""The address a request came from, for the audit log and the login lockouts alike.

Without a proxy it is REMOTE_ADDR. Behind TRUSTED_PROXY_COUNT proxies of our own (a TLS
terminator, a load balancer), REMOTE_ADDR is the nearest proxy's and each proxy appends the
address it saw to X-Forwarded-For: the client is the entry that many places from the right.
Entries further left are whatever the client sent, so they are never used; with no proxy
configured the header is ignored altogether (anyone can send it)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) < proxies:
        # Not through every proxy of ours (a request straight to the server): the header,
        # if any, is the client's own.
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:  # a proxy that appends host:port or garbage: not an address
        return remote
