"""Helpers for Gigi's py-libp2p 0.8.1 interop peers (run by Tests/InteropTests).

Every peer speaks TCP on loopback with Noise (/noise) and Yamux (/yamux/1.0.0)
only, so a test exercises exactly what Gigi implements. Output is JSON on
stdout; py-libp2p's own logging goes to stderr and is off unless
GIGI_PY_LOG=DEBUG|INFO|... is set.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import multiaddr
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_pair
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID, Transport as Noise
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID, Yamux

ECHO = TProtocol("/echo/1.0.0")
CHUNK = 64 * 1024


def setup_logging() -> None:
    level = getattr(logging, os.environ.get("GIGI_PY_LOG", "CRITICAL").upper(), logging.CRITICAL)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(name)s %(levelname)s %(message)s")
    for name in ("libp2p", "multiaddr", "async_service"):
        logging.getLogger(name).setLevel(level)


def host_for(seed: int | None):
    """A Noise+Yamux host; `seed` N gives the Ed25519 seed bytes([N]) + 31 zero bytes."""
    keys = create_new_key_pair(bytes([seed]) + bytes(31)) if seed is not None else create_new_key_pair()
    security = {NOISE_ID: Noise(keys, noise_privkey=new_x25519_pair().private_key)}
    muxers = {TProtocol(YAMUX_ID): Yamux}
    return new_host(key_pair=keys, sec_opt=security, muxer_opt=muxers)


def tcp_addr(ip: str, port: int) -> multiaddr.Multiaddr:
    family = "ip6" if ":" in ip else "ip4"
    return multiaddr.Multiaddr(f"/{family}/{ip}/tcp/{port}")


def say(record: dict) -> None:
    print(json.dumps(record, sort_keys=True), flush=True)


async def pieces(stream):
    """What the peer sends, as it arrives, until its FIN."""
    while True:
        try:
            piece = await stream.read(CHUNK)
        except StreamEOF:
            return
        if not piece:
            return
        yield piece


async def read_until_eof(stream, limit: int) -> bytes:
    """Everything up to the peer's FIN; raises if more than `limit` bytes arrive."""
    data = bytearray()
    async for piece in pieces(stream):
        data += piece
        if len(data) > limit:
            raise ValueError(f"more than {limit} bytes")
    return bytes(data)


async def read_n(stream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        try:
            piece = await stream.read(n - len(data))
        except StreamEOF:
            piece = b""
        if not piece:
            raise EOFError(f"stream ended after {len(data)} of {n} bytes")
        data += piece
    return bytes(data)


def describe(error: BaseException) -> str:
    """One line for an exception, with nested groups and causes (bounded)."""
    parts, todo = [], [error]
    while todo and len(parts) < 8:
        e = todo.pop(0)
        parts.append(f"{type(e).__name__}: {e}")
        todo.extend(getattr(e, "exceptions", None) or [])
        if e.__cause__ is not None:
            todo.append(e.__cause__)
    return " <- ".join(parts)
