"""Smoke test of the generated Python bindings: a rider's help request, the list, and a refused
edit raising the right exception. Run by scripts/test-bindings.sh with the generated module on
PYTHONPATH; prints one line per test and `python: N passed, M failed`."""

import shutil
import sys
import tempfile
import time
import traceback

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
    assert client.sync_status().pending >= 1
    state["id"] = ticket.id


@test
def list_tickets():
    """list and filter"""
    client.create_ticket(fw.TicketDraft(title="Rude staff", kind=fw.TicketKind.COMPLAINT))
    everything = client.list_tickets(fw.TicketFilter())
    assert len(everything) == 2, everything
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


del client
shutil.rmtree(data_dir, ignore_errors=True)
print(f"python: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
