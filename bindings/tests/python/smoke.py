"""Smoke test of the generated Python bindings: a rider's help request, the list, a refused
edit raising the right exception, an observer, a photo (a PNG made here by hand) attached and
read back, and a technician's knowledge base synced from the server scripts/test-bindings.sh
starts and searched offline. Run by that script with the generated module on PYTHONPATH; prints
one line per test and `python: N passed, M failed`."""

import hashlib
import os
import shutil
import struct
import sys
import tempfile
import time
import traceback
import zlib

import fieldwork_ffi as fw

results = {"passed": 0, "failed": 0}


def test(fn):
    try:
        fn()
        results["passed"] += 1
        print(f"ok   - {fn.__doc__}")
    except Exception:  # noqa: BLE001 - a test harness reports every failure
        results["failed"] += 1
        print(f"FAIL - {fn.__doc__}")
        traceback.print_exc(file=sys.stdout)
    return fn


data_dir = tempfile.mkdtemp(prefix="fw-python-")
client = fw.FieldworkClient.open(data_dir, fw.ClientConfig(device_name="python smoke"))
client.init_offline(fw.UserProfile(tenant="acme", user_id="rider7", role=fw.Role.RIDER))
state = {}


@test
def help_request():
    """help request offline: saved with order, position and note"""
    fix = fw.LocationFix(lat=31.23, lon=121.47, accuracy_m=10.0, at=int(time.time() * 1000))
    ticket = client.help_request("ORD-9", fix, "crashed")
    assert ticket.kind == fw.TicketKind.HELP_REQUEST, ticket.kind
    assert ticket.priority == fw.Priority.HIGH, ticket.priority
    assert ticket.site.lat == 31.23, ticket.site
    assert [n.text for n in ticket.notes] == ["crashed"], ticket.notes
    assert ticket.unverified_changes == 0, "nothing from a bundle on one's own new ticket"
    assert client.sync_status().pending >= 1
    state["id"] = ticket.id


@test
def list_tickets():
    """list and filter"""
    client.create_ticket(fw.TicketDraft(title="Rude staff", kind=fw.TicketKind.COMPLAINT))
    everything = client.list_tickets(fw.TicketFilter())
    assert len(everything) == 2, everything
    assert all(t.unverified_changes == 0 for t in everything), everything
    found = client.list_tickets(fw.TicketFilter(text="ORD-9"))
    assert [t.id for t in found] == [state["id"]], found


@test
def refused_edit():
    """a refused edit raises FieldworkError.NotAllowed with the rule's message"""
    try:
        client.change_status(state["id"], fw.Status.RESOLVED)
    except fw.FieldworkError.NotAllowed as e:
        assert "cannot go from new to resolved" in str(e), str(e)
    else:
        raise AssertionError("no exception")
    try:
        client.ticket("0000-unknown")
    except fw.FieldworkError.NotFound as e:
        assert "no ticket matches" in str(e), str(e)
    else:
        raise AssertionError("no exception for an unknown ticket")


@test
def observer():
    """an observer hears a local edit"""
    heard = []

    class Observer(fw.TicketObserver):
        def on_tickets_changed(self, change):
            heard.append(change)

    sub = client.observe_tickets(Observer())
    client.add_note(state["id"], "still waiting", False)
    sub.cancel()
    client.add_note(state["id"], "after cancel", False)
    assert [c.ids for c in heard] == [[state["id"]]], heard
    assert heard[0].origin == fw.ChangeOrigin.LOCAL


def png(width, height):
    """An RGB PNG, red on the left half and white on the right, written by hand."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    row = b"\xff\x00\x00" * (width // 2) + b"\xff\xff\xff" * (width - width // 2)
    raw = b"".join(b"\x00" + row for _ in range(height))  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


@test
def attach_photo():
    """a PNG attached to a ticket comes back as a JPEG attachment with a thumbnail on the device"""
    ticket = client.attach_photo(state["id"], png(400, 300), None)
    assert len(ticket.attachments) == 1, ticket.attachments
    attachment = ticket.attachments[0]
    assert (attachment.width, attachment.height) == (400, 300), attachment
    assert attachment.mime == "image/jpeg", attachment.mime
    assert attachment.thumb not in (None, attachment.sha256), attachment
    assert client.ticket(state["id"]).attachments == [attachment]
    path = client.photo_path(attachment.sha256)
    with open(path, "rb") as f:
        stored = f.read()
    assert stored[:2] == b"\xff\xd8", stored[:4]
    assert hashlib.sha256(stored).hexdigest() == attachment.sha256
    assert os.path.isfile(client.photo_path(attachment.thumb))
    assert client.fetch_photo(attachment.sha256) == path
    assert [u.kind for u in client.sync_status().uploads] == [fw.BlobKind.THUMB, fw.BlobKind.FULL]
    # A picture no bigger than a thumbnail is its own thumbnail: one file.
    small = client.attach_photo(state["id"], png(64, 48), None).attachments
    tiny = next(a for a in small if a.width == 64)
    assert tiny.thumb == tiny.sha256, tiny
    assert len(client.sync_status().uploads) == 3


@test
def corrupt_photo():
    """a corrupt photo raises FieldworkError.InvalidPhoto and leaves the ticket as it was"""
    before = client.ticket(state["id"])
    broken = png(64, 48)
    for bad, expected in [(broken[: len(broken) // 2], "cut short"), (b"GIF89a not really", "GIF"),
                          (b"", "empty")]:
        try:
            client.attach_photo(state["id"], bad, None)
        except fw.FieldworkError.InvalidPhoto as e:
            assert expected in str(e), str(e)
        else:
            raise AssertionError(f"no exception for {bad[:10]!r}")
    assert client.ticket(state["id"]) == before


@test
def knowledge_base():
    """a technician's device syncs the knowledge base and finds it offline in Chinese and English"""
    server = os.environ.get("FW_SERVER_URL")
    if not server:
        raise AssertionError("FW_SERVER_URL is not set: run through scripts/test-bindings.sh")
    public, internal = os.environ["FW_KB_PUBLIC_ID"], os.environ["FW_KB_INTERNAL_ID"]
    tech_dir = tempfile.mkdtemp(prefix="fw-python-kb-")
    tech = fw.FieldworkClient.open(tech_dir, fw.ClientConfig(device_name="python kb", server_url=server))
    try:
        assert tech.kb_search("卡纸", 10) == [], "nothing before the first sync"
        tech.login_with_token(os.environ["FW_TECH_TOKEN"])
        tech.sync_now()
        tech.set_network_available(False)
        assert [h.id for h in tech.kb_search("卡纸", 10)] == [public]
        hits = tech.kb_search("thermal head", 10)
        assert [h.id for h in hits] == [internal], hits
        assert hits[0].audience == fw.KbAudience.STAFF
        article = tech.kb_article(public)
        assert article.language == "zh" and "取出卡住的纸" in article.body, article
        assert article.version == 1 and article.tags == ["POS"], article
        assert tech.kb_article("no-such-article") is None
        jpeg = tech.kb_image(os.environ["FW_KB_PICTURE"])
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8", "the article's picture, offline"
        assert tech.kb_search("  ", 10) == [], "nothing searchable finds nothing"
    finally:
        del tech
        shutil.rmtree(tech_dir, ignore_errors=True)


del client
shutil.rmtree(data_dir, ignore_errors=True)
print(f"python: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
