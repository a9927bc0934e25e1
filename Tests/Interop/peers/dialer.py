#!/usr/bin/env python3
"""py-libp2p dialer for Gigi's interop tests.

Dials ADDR (/ip4/127.0.0.1/tcp/P/p2p/ID), asks identify, pings 3 times on
one stream, echoes --size random bytes over /echo/1.0.0, pushes its own
identify, and prints one JSON line: ok, peer, connect_ms,
identify{agent_version, protocol_version, protocols, listen_addrs,
observed_addr, public_key_peer}, ping_rtt_ms, echo_bytes, echo_identical,
echo_ms, pushed, error. Exit 0 iff every step passed.

    dialer.py ADDR [--size BYTES] [--seed N] [--timeout SECONDS]
"""

import argparse
import os
import secrets
import sys
import time

import multiaddr
import trio

from pypeer import CHUNK, ECHO, describe, host_for, pieces, read_n, read_until_eof, say, setup_logging
from libp2p.crypto.serialization import deserialize_public_key
from libp2p.host.ping import ID as PING
from libp2p.identity.identify.identify import ID as IDENTIFY, parse_identify_response
from libp2p.identity.identify_push.identify_push import push_identify_to_peer
from libp2p.peer.id import ID as PeerID
from libp2p.peer.peerinfo import info_from_p2p_addr


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def identify(host, peer) -> dict:
    stream = await host.new_stream(peer, [IDENTIFY])
    raw = await read_until_eof(stream, 1 << 20)
    await stream.close()
    message = parse_identify_response(raw)
    key = deserialize_public_key(message.public_key)
    return {
        "agent_version": message.agent_version,
        "protocol_version": message.protocol_version,
        "protocols": sorted(message.protocols),
        "listen_addrs": [str(multiaddr.Multiaddr(a)) for a in message.listen_addrs],
        "observed_addr": str(multiaddr.Multiaddr(message.observed_addr)) if message.observed_addr else None,
        "public_key_peer": PeerID.from_pubkey(key).to_string(),
    }


async def ping(host, peer, count: int) -> list:
    stream = await host.new_stream(peer, [PING])
    rtts = []
    for _ in range(count):
        payload = secrets.token_bytes(32)
        start = time.perf_counter()
        await stream.write(payload)
        echoed = await read_n(stream, 32)
        rtts.append(ms(time.perf_counter() - start))
        if echoed != payload:
            raise ValueError("the ping echo differs from the payload")
    await stream.close_write()
    return rtts


async def echo(host, peer, size: int) -> dict:
    data = os.urandom(size)
    stream = await host.new_stream(peer, [ECHO])
    back = bytearray()
    start = time.perf_counter()

    async def send():
        for offset in range(0, size, CHUNK):
            await stream.write(data[offset:offset + CHUNK])
        await stream.close_write()

    async def receive():
        async for piece in pieces(stream):
            back.extend(piece)
            if len(back) > size:
                raise ValueError("the echo is longer than what was sent")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        nursery.start_soon(receive)
    elapsed = time.perf_counter() - start
    return {"echo_bytes": len(back), "echo_identical": bytes(back) == data, "echo_ms": ms(elapsed)}


async def main(args) -> int:
    result = {"ok": False}
    host = host_for(args.seed)
    try:
        with trio.fail_after(args.timeout):
            async with host.run(listen_addrs=[]):
                info = info_from_p2p_addr(multiaddr.Multiaddr(args.addr))
                result["peer"] = info.peer_id.to_string()
                start = time.perf_counter()
                await host.connect(info)
                result["connect_ms"] = ms(time.perf_counter() - start)
                result["identify"] = await identify(host, info.peer_id)
                result["ping_rtt_ms"] = await ping(host, info.peer_id, 3)
                result.update(await echo(host, info.peer_id, args.size))
                result["pushed"] = await push_identify_to_peer(host, info.peer_id)
                result["ok"] = result["echo_identical"] and result["echo_bytes"] == args.size and result["pushed"]
    except Exception as error:  # noqa: BLE001 - the test wants every failure as JSON
        result["error"] = describe(error)
    say(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    setup_logging()
    parser = argparse.ArgumentParser()
    parser.add_argument("addr")
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--timeout", type=float, default=60)
    code = trio.run(main, parser.parse_args())
    sys.stdout.flush()
    os._exit(code)  # py-libp2p can leave service threads behind; do not wait for them
