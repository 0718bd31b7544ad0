#!/usr/bin/env python3
"""Writes and publishes the knowledge-base articles the bindings suites find offline, through the
back-office API as a supervisor: usage `publish-kb-fixtures.py URL SUPERVISOR_TOKEN`. The article
for everyone shows a picture (a PNG made here, through the server's photo pipeline). Prints
`{"public": ID, "internal": ID, "picture": SHA256}`."""

import base64
import json
import struct
import sys
import urllib.request
import zlib

url, token = sys.argv[1].rstrip("/"), sys.argv[2]


def call(path, body):
    request = urllib.request.Request(
        f"{url}/api/v1{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def png(width, height):
    """A plain PNG: a colour gradient."""
    raw = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128))
                                       for x in range(width)) for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def publish(article):
    made = call("/kb/articles", article)
    call(f"/kb/articles/{made['id']}/publish", {})
    return made["id"]


picture = call("/kb/images", {"name": "cover.png", "data": base64.b64encode(png(96, 64)).decode()})
public = publish({
    "title": "打印机卡纸怎么办", "language": "zh", "audience": "everyone", "category": "printer",
    "body": "关机，打开盖子，取出卡住的纸。Open the cover and pull the paper out.\n\n"
            f"![the cover](kb-image:{picture['sha256']})",
    "tags": ["POS"],
})
internal = publish({
    "title": "Replacing the thermal print head", "language": "en", "audience": "staff",
    "category": "printer", "team": "north",
    "body": "Unplug the printer, release the head latch and lift the ribbon cable.",
})
print(json.dumps({"public": public, "internal": internal, "picture": picture["sha256"]}))
