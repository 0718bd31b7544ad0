#!/usr/bin/env python3
"""Writes and publishes the knowledge-base articles the bindings suites find offline, through the
back-office API as a supervisor: usage `publish-kb-fixtures.py URL SUPERVISOR_TOKEN`. Prints
`{"public": ID, "internal": ID}`."""

import json
import sys
import urllib.request

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


def publish(article):
    made = call("/kb/articles", article)
    call(f"/kb/articles/{made['id']}/publish", {})
    return made["id"]


public = publish({
    "title": "打印机卡纸怎么办", "language": "zh", "audience": "everyone", "category": "printer",
    "body": "关机，打开盖子，取出卡住的纸。Open the cover and pull the paper out.",
    "tags": ["POS"],
})
internal = publish({
    "title": "Replacing the thermal print head", "language": "en", "audience": "staff",
    "category": "printer", "team": "north",
    "body": "Unplug the printer, release the head latch and lift the ribbon cable.",
})
print(json.dumps({"public": public, "internal": internal}))
