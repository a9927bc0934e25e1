#!/usr/bin/env python3
"""Writes golden.json: Gigi DNS packets built byte-for-byte from the wire format
the original gigi-dns uses (independently of our Swift encoder), with the fields
each must decode to. Run from this directory: python3 make_vectors.py"""
import json, struct

SERVICE = b"_gigi-dns._udp.local"
PID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

def qname(name):
    out = b""
    for part in name.split(b"."):
        if part:
            out += bytes([len(part)]) + part
    return out + b"\x00"

def query(tid):
    return struct.pack(">HHHHHH", tid, 0, 1, 0, 0, 0) + qname(SERVICE) + struct.pack(">HH", 12, 1)

def response(tid, text, ttl):
    data = text.encode()
    chunks = [data[i:i + 255] for i in range(0, len(data), 255)]
    rdata = b"".join(bytes([len(c)]) + c for c in chunks)
    return (struct.pack(">HHHHHH", tid, 0x8400, 0, 1, 0, 0) + qname(SERVICE)
            + struct.pack(">HHIH", 16, 1, ttl, len(rdata)) + rdata)

vectors = []
def add(name, packet, **expect):
    vectors.append({"name": name, "hex": packet.hex(), **expect})

add("query", query(0x1234), kind="query")
add("announcement-basic",
    response(0xBEEF, f"peer_id={PID} nickname=Alice addr=/ip4/192.168.1.100/tcp/8000", 360),
    kind="record", peer_id=PID, nickname="Alice", addr="/ip4/192.168.1.100/tcp/8000", caps=[], meta=[], ttl=360)
add("announcement-caps-meta",
    response(0x0001, f"peer_id={PID} nickname=Bob addr=/ip6/fe80::1/udp/4001/quic-v1 "
                     "caps=chat,file_sharing meta=version:1.0,os:Linux", 120),
    kind="record", peer_id=PID, nickname="Bob", addr="/ip6/fe80::1/udp/4001/quic-v1",
    caps=["chat", "file_sharing"], meta=[["version", "1.0"], ["os", "Linux"]], ttl=120)
long_meta = ",".join(f"k{i}:{'v' * 20}" for i in range(12))
add("announcement-split-over-255",
    response(0x0002, f"peer_id={PID} nickname=Carol addr=/ip4/10.1.0.3/tcp/41000 meta={long_meta}", 60),
    kind="record", peer_id=PID, nickname="Carol", addr="/ip4/10.1.0.3/tcp/41000", caps=[],
    meta=[[f"k{i}", "v" * 20] for i in range(12)], ttl=60)
add("original-unescaped-nickname-with-spaces",
    response(0x0003, f"peer_id={PID} nickname=Bob Smith Jr addr=/ip4/10.0.0.7/tcp/7000", 360),
    kind="record", peer_id=PID, nickname="Bob Smith Jr", addr="/ip4/10.0.0.7/tcp/7000", caps=[], meta=[], ttl=360)
add("escaped-nickname",
    response(0x0004, f"peer_id={PID} nickname=a%20b%3Dc%25 addr=/ip4/10.0.0.8/tcp/7000", 360),
    kind="record", peer_id=PID, nickname="a b=c%", addr="/ip4/10.0.0.8/tcp/7000", caps=[], meta=[], ttl=360)
add("original-nickname-with-percent",
    response(0x0005, f"peer_id={PID} nickname=100% addr=/ip4/10.0.0.9/tcp/7000", 360),
    kind="record", peer_id=PID, nickname="100%", addr="/ip4/10.0.0.9/tcp/7000", caps=[], meta=[], ttl=360)
add("goodbye",
    response(0x0000, f"peer_id={PID} nickname=Alice addr=/ip4/192.168.1.100/tcp/8000", 0),
    kind="record", peer_id=PID, nickname="Alice", addr="/ip4/192.168.1.100/tcp/8000", caps=[], meta=[], ttl=0)

# malformed: each must be rejected and counted
good = response(0x0009, f"peer_id={PID} nickname=Alice addr=/ip4/1.2.3.4/tcp/1", 60)
hdr = struct.pack(">HHHHHH", 7, 0x8400, 0, 1, 0, 0)
bad = {
    "empty": b"",
    "short-header": good[:11],
    "truncated-mid-record": good[:-5],
    "truncated-rdata-length": good[:len(good) - len(good) + 12 + len(qname(SERVICE)) + 9],
    "pointer-loop-self": hdr + b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, 0),
    "pointer-forward": hdr + b"\xc0\x20" + struct.pack(">HHIH", 16, 1, 60, 0) + b"\x00" * 20,
    "pointer-two-cycle": struct.pack(">HHHHHH", 7, 0x8400, 0, 1, 0, 0) + b"\x01a\xc0\x0e\x01b\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, 0),
    "label-type-0x40": hdr + b"\x41abc" + struct.pack(">HHIH", 16, 1, 60, 0),
    "too-many-records": struct.pack(">HHHHHH", 7, 0x8400, 0, 65535, 0, 0),
    "txt-string-overruns-rdata": hdr + qname(SERVICE) + struct.pack(">HHIH", 16, 1, 60, 3) + b"\x09ab",
    "oversized": good + b"\x00" * 9001,
    "name-too-long": hdr + (b"\x3f" + b"x" * 63) * 4 + b"\x00" + struct.pack(">HHIH", 16, 1, 60, 0),
}
malformed = [{"name": k, "hex": v.hex()} for k, v in bad.items()]
# records that parse as DNS but whose Gigi text is rejected
badtext = {
    "missing-peer-id": "nickname=Alice addr=/ip4/1.2.3.4/tcp/1",
    "missing-addr": f"peer_id={PID} nickname=Alice",
    "bad-peer-id": f"peer_id=../../etc nickname=Alice addr=/ip4/1.2.3.4/tcp/1",
    "nickname-too-long": f"peer_id={PID} nickname={'x' * 65} addr=/ip4/1.2.3.4/tcp/1",
    "addr-not-multiaddr": f"peer_id={PID} nickname=Alice addr=1.2.3.4:80",
}
badrecords = [{"name": k, "hex": response(1, v, 60).hex()} for k, v in badtext.items()]
badrecords.append({"name": "not-utf8", "hex": response(1, "x", 60)[:-1].hex() + "ff"})

with open("golden.json", "w") as f:
    json.dump({"valid": vectors, "malformed": malformed, "badRecords": badrecords}, f, indent=1)
    f.write("\n")
