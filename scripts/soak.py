#!/usr/bin/env python3
"""Soak driver (issue 11): everything hostile and ordinary at once against one gateway process, for MINUTES.

Connection churn (connect, subscribe, sometimes replay from the start, read a little, leave), non-reading
replayers and pollers, steady single-event publishes, long-polls, policy reloads (the policy file is
rewritten) and GDPR forgets, all together. At the end it asserts:
  - no acknowledged event is lost: every 202 is in the log (read back by polling from the start), except the
    events of subjects forgotten on purpose, which must all be gone;
  - resident memory and open file descriptors are flat after the warm-up (last fifth vs the fifth after warm-up);
  - the gateway's log holds no line at level error or critical.
Test tooling only (Python, websockets, PyJWT); the gateway is the real binary, started by scripts/soak.sh.
"""
import asyncio
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

import jwt
import websockets

BASE = os.environ["SOAK_URL"]
WS = BASE.replace("http://", "ws://")
SECRET = os.environ["SOAK_SECRET"]
PID = int(os.environ["SOAK_PID"])
POLICY_FILE = os.environ["SOAK_POLICY_FILE"]
LOG_FILE = os.environ["SOAK_LOG"]
MINUTES = float(sys.argv[1]) if len(sys.argv) > 1 else 10
COMPANY = "123"


def token(**claims):
    body = {"sub": "soak", "user_id": "soak", "company_id": COMPANY, "roles": ["sales"], "exp": int(time.time()) + 86_400}
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")


USER = token()
SERVICE = token(sub="backend", user_id="backend", company_id=None, roles=["service"])
ADMIN = token(sub="ops", user_id="ops", company_id=None, roles=["admin"])


def http(method, path, body=None, bearer=SERVICE, timeout=70):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + bearer)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Tally:
    def __init__(self):
        self.acknowledged = {}  # event_id -> contact id
        self.forgotten = set()  # contact ids forgotten on purpose
        self.counts = {}
        self.samples = []  # (seconds, rss bytes, open fds)

    def count(self, what, by=1):
        self.counts[what] = self.counts.get(what, 0) + by


tally = Tally()


async def publisher(stop, index):
    """One event per request, as CRM backends publish."""
    n = 0
    while not stop.is_set():
        n += 1
        contact = f"c-{index}-{n % 50}"
        body = {"event_type": "deal.stage.updated", "data": {"company_id": COMPANY, "contact_id": contact, "n": n, "pad": "x" * random.randint(10, 2000)}}
        status, reply = await asyncio.to_thread(http, "POST", "/api/realtime/publish/", body)
        if status == 202:
            tally.acknowledged[reply["event_id"]] = contact
            tally.count("published")
        elif status == 403 and reply.get("error", {}).get("code") == "subject_forgotten":
            tally.count("refused_forgotten")
        else:
            tally.count(f"publish_{status}")
        await asyncio.sleep(random.uniform(0.005, 0.03))


async def churner(stop):
    """Connects, subscribes, sometimes replays from the start, reads a little, leaves."""
    while not stop.is_set():
        try:
            async with websockets.connect(f"{WS}/ws?token={USER}", max_size=None, open_timeout=30) as socket:
                await socket.send(json.dumps({"type": "subscribe", "topics": ["deal.stage.*"]}))
                if random.random() < 0.3:
                    await socket.send(json.dumps({"type": "cursor.update", "cursor": "0"}))
                deadline = time.monotonic() + random.uniform(0.2, 3)
                while time.monotonic() < deadline:
                    try:
                        await asyncio.wait_for(socket.recv(), timeout=max(0.01, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        break
                tally.count("churned")
        except websockets.exceptions.ConnectionClosed as error:
            # The server's close code (1006: no close frame), so a soak's counts say why connections ended early.
            tally.count(f"churn_closed_{error.rcvd.code if error.rcvd else 1006}")
            await asyncio.sleep(0.5)
        except (OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError) as error:
            tally.count(f"churn_error_{type(error).__name__}")
            await asyncio.sleep(0.5)


async def stalled_replayer(stop):
    """Replays everything and never reads; comes back after the server cuts it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", int(BASE.rsplit(":", 1)[1]))
            key = "dGhlIHNhbXBsZSBub25jZQ=="
            writer.write(f"GET /ws?token={USER} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
            for message in ({"type": "subscribe", "topics": ["deal.stage.*"]}, {"type": "cursor.update", "cursor": "0"}):
                payload = json.dumps(message).encode()
                mask = os.urandom(4)
                writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            await writer.drain()
            await asyncio.sleep(random.uniform(5, 40))
            writer.close()
            tally.count("stalled_replays")
        except OSError:
            await asyncio.sleep(1)


async def poller(stop):
    """Long-polls from its cursor, as the fallback transport does."""
    cursor = None
    while not stop.is_set():
        query = "topics=deal.stage.*&timeout=5&limit=500" + (f"&cursor={cursor}" if cursor else "")
        status, reply = await asyncio.to_thread(http, "GET", "/api/realtime/poll/?" + query, None, USER)
        if status == 200:
            cursor = reply["cursor"]
            tally.count("polled_events", len(reply["events"]))
        else:
            tally.count(f"poll_{status}")
            await asyncio.sleep(1)


async def reloader(stop):
    """Rewrites the policy file (a new comment, so a new version) every 20 s; the watcher reloads it."""
    original = open(POLICY_FILE).read()
    n = 0
    while not stop.is_set():
        await asyncio.sleep(20)
        n += 1
        with open(POLICY_FILE, "w") as file:
            file.write(original + f"\n# soak reload {n}\n")
        tally.count("reloads")


async def forgetter(stop):
    """Every 30 s: publishes a few events of a fresh subject, then forgets it."""
    n = 0
    while not stop.is_set():
        await asyncio.sleep(30)
        n += 1
        contact = f"forget-me-{n}"
        for _ in range(5):
            body = {"event_type": "deal.stage.updated", "data": {"company_id": COMPANY, "contact_id": contact}}
            status, reply = await asyncio.to_thread(http, "POST", "/api/realtime/publish/", body)
            if status == 202:
                tally.acknowledged[reply["event_id"]] = contact
        status, _ = await asyncio.to_thread(http, "POST", "/api/realtime/gdpr/forget/", {"data_subject_id": contact, "company_id": COMPANY}, ADMIN)
        if status == 200:
            tally.forgotten.add(contact)
        tally.count(f"forget_{status}")


def sample():
    with open(f"/proc/{PID}/status") as status:
        rss = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{PID}/fd"))


async def sampler(stop, started):
    while not stop.is_set():
        rss, fds = sample()
        tally.samples.append((time.monotonic() - started, rss, fds))
        await asyncio.sleep(5)


def read_back():
    """Every event in the log, polled from the start of the retained history."""
    seen = {}
    cursor = "0"
    while True:
        status, reply = http("GET", f"/api/realtime/poll/?topics=deal.stage.*&timeout=0&limit=1000&cursor={cursor}", bearer=USER)
        if status != 200:
            raise SystemExit(f"read-back poll answered {status}: {reply}")
        for event in reply["events"]:
            seen[event["event_id"]] = event
        cursor = reply["cursor"]
        if not reply["has_more"]:
            return seen


def prepopulate():
    """About 6 MB of history first, more than a connection may hold unwritten: the non-reading replayers
    then hold their full share from the start, so memory after the warm-up is comparable with the end."""
    for batch in range(30):
        events = [
            {"event_type": "deal.stage.updated", "data": {"company_id": COMPANY, "contact_id": f"seed-{batch}", "n": i, "pad": "s" * 2000}}
            for i in range(100)
        ]
        status, reply = http("POST", "/api/realtime/publish/batch/", {"events": events})
        if status != 202:
            raise SystemExit(f"seeding the history answered {status}: {reply}")
        for result in reply["results"]:
            if "event_id" in result and "error" not in result:
                tally.acknowledged[result["event_id"]] = f"seed-{batch}"


async def main():
    prepopulate()
    stop = asyncio.Event()
    started = time.monotonic()
    tasks = [asyncio.create_task(publisher(stop, i)) for i in range(4)]
    tasks += [asyncio.create_task(churner(stop)) for _ in range(20)]
    tasks += [asyncio.create_task(stalled_replayer(stop)) for _ in range(10)]
    tasks += [asyncio.create_task(poller(stop)) for _ in range(5)]
    tasks += [asyncio.create_task(reloader(stop)), asyncio.create_task(forgetter(stop)), asyncio.create_task(sampler(stop, started))]
    while time.monotonic() - started < MINUTES * 60:
        await asyncio.sleep(30)
        print(f"soak: {int(time.monotonic() - started)} s, rss {tally.samples[-1][1] >> 20} MiB, fds {tally.samples[-1][2]}, {tally.counts}", flush=True)
    stop.set()
    await asyncio.wait(tasks, timeout=90)

    failures = []
    await asyncio.sleep(2)
    seen = read_back()
    lost = [event_id for event_id, contact in tally.acknowledged.items() if contact not in tally.forgotten and event_id not in seen]
    kept = [event_id for event_id, contact in tally.acknowledged.items() if contact in tally.forgotten and event_id in seen]
    if lost:
        failures.append(f"{len(lost)} acknowledged events are not in the log, e.g. {lost[:3]}")
    if kept:
        failures.append(f"{len(kept)} events of forgotten subjects are still in the log")

    after_warmup = [s for s in tally.samples if s[0] >= MINUTES * 60 * 0.2]
    fifth = max(1, len(after_warmup) // 5)
    early, late = after_warmup[:fifth], after_warmup[-fifth:]
    rss_early = sum(s[1] for s in early) / len(early)
    rss_late = sum(s[1] for s in late) / len(late)
    fds_early = sum(s[2] for s in early) / len(early)
    fds_late = sum(s[2] for s in late) / len(late)
    if rss_late > rss_early * 1.2:
        failures.append(f"RSS grew after warm-up: {rss_early / 2**20:.0f} MiB -> {rss_late / 2**20:.0f} MiB")
    if fds_late > fds_early * 1.2 + 10:
        failures.append(f"open file descriptors grew after warm-up: {fds_early:.0f} -> {fds_late:.0f}")

    errors = []
    with open(LOG_FILE) as log:
        for line in log:
            try:
                level = json.loads(line).get("level", "")
            except json.JSONDecodeError:
                continue
            if level in ("error", "critical"):
                errors.append(line.strip())
    if errors:
        failures.append(f"{len(errors)} error lines in the gateway's log, e.g. {errors[:3]}")

    print(f"soak: {MINUTES} min; acknowledged {len(tally.acknowledged)}, forgotten subjects {len(tally.forgotten)}, in the log {len(seen)}")
    print(f"soak: RSS {rss_early / 2**20:.0f} MiB after warm-up, {rss_late / 2**20:.0f} MiB at the end (peak {max(s[1] for s in tally.samples) / 2**20:.0f} MiB)")
    print(f"soak: open fds {fds_early:.0f} after warm-up, {fds_late:.0f} at the end")
    print(f"soak: counts {json.dumps(tally.counts, sort_keys=True)}")
    for failure in failures:
        print("soak: FAIL " + failure)
    if failures:
        raise SystemExit(1)
    print("soak: PASS")


asyncio.run(main())
