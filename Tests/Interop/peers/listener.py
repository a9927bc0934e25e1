#!/usr/bin/env python3
"""py-libp2p listener for Gigi's interop tests.

Serves identify and ping (py-libp2p's built-in handlers) and /echo/1.0.0
(echoes every byte, half-closes at the peer's FIN). Prints its dialable
multiaddr (with /p2p/ID) as line 1, then one JSON line per finished echo
stream. Runs until stdin closes or it is killed, so a test that dies
takes it down too.

    listener.py [--port 0] [--ip 127.0.0.1] [--seed N]
"""

import argparse

import trio

from pypeer import ECHO, host_for, pieces, say, setup_logging, tcp_addr
from libp2p.network.stream.exceptions import StreamReset


async def echo(stream) -> None:
    total = 0
    try:
        async for piece in pieces(stream):
            total += len(piece)
            await stream.write(piece)
        await stream.close_write()
        say({"event": "echo", "bytes": total, "peer": str(stream.muxed_conn.peer_id)})
    except StreamReset:
        say({"event": "echo_reset", "bytes": total})


async def wait_for_stdin_eof() -> None:
    stdin = trio.lowlevel.FdStream(0)
    while await stdin.receive_some(4096):
        pass


async def main(args) -> None:
    host = host_for(args.seed)
    host.set_stream_handler(ECHO, echo)
    async with host.run(listen_addrs=[tcp_addr(args.ip, args.port)]):
        ours = [a for a in host.get_addrs() if f"/{args.ip}/" in str(a) and "/tcp/" in str(a)]
        print(str(ours[0]), flush=True)
        protocols = sorted(str(p) for p in host.get_mux().get_protocols() if p)
        say({"event": "ready", "peer": host.get_id().to_string(), "protocols": protocols})
        await wait_for_stdin_eof()


if __name__ == "__main__":
    setup_logging()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--seed", type=int)
    try:
        trio.run(main, parser.parse_args())
    except KeyboardInterrupt:
        pass
