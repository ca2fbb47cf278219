#!/usr/bin/env python3
"""Headless-Chromium test: the reference JavaScript clients and /realtime.js against a running gateway.

The gateway must already run on http://localhost:8000 (the reference RealtimeClient hard-codes
ws://localhost:8000/ws) with an HS256 JWT secret of at least 32 bytes, for example:

    JWT_SECRET=$(openssl rand -hex 32) realtime-gateway serve &
    python3 Tests/browser/run_browser_test.py --secret "$JWT_SECRET"

The page Tests/browser/reference-clients.html is injected into a gateway URL with document.write,
so it is same-origin with the gateway (the reference LongPollingClient fetches a relative URL).

Checks: the reference WebSocket client, the reference long-polling client and the SDK each receive
the published events once and in order; the SDK, whose socket is dropped from the page, reconnects,
resumes by cursor and ends with every event exactly once, in order; a second SDK client whose
WebSocket URL is a closed port falls back to long-polling the gateway, gets every event exactly once,
in order, and keeps the cursor of every poll answer, also of an empty one; no event of another
company reaches any of them. Needs: pip install selenium PyJWT; /usr/bin/chromium and /usr/bin/chromedriver.
Exit 0 when every check passes, 1 when one fails, 2 on a usage or setup error.
"""
import argparse
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.path.join(HERE, "reference-clients.html")
COMPANY = "123"
OTHER_COMPANY = "999"
FALLBACK_AFTER = 3  # the fallback client's fallbackAfter option in the page


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base_url", nargs="?", default=os.environ.get("GATEWAY_URL", "http://localhost:8000"),
                   help="gateway base URL (default $GATEWAY_URL or http://localhost:8000)")
    p.add_argument("--secret", default=os.environ.get("JWT_SECRET"), help="the gateway's JWT_SECRET (HS256)")
    p.add_argument("--issuer", default=os.environ.get("JWT_ISSUER"), help="iss claim, when the gateway checks it")
    p.add_argument("--audience", default=os.environ.get("JWT_AUDIENCE"), help="aud claim, when the gateway checks it")
    p.add_argument("--screenshot", default=os.environ.get("SCREENSHOT", "/tmp/realtime-browser-test.png"))
    p.add_argument("--timeout", type=float, default=float(os.environ.get("BROWSER_TEST_TIMEOUT", "20")),
                   help="seconds for each wait (default 20)")
    p.add_argument("--origin-path", default="/api/realtime/health/",
                   help="gateway path opened to get a same-origin page for the test page")
    p.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    p.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    p.add_argument("--reference", default=os.environ.get("REFERENCE_DOC"),
                   help="reference/realtime-architecture.md, to check that the page copies its clients unchanged")
    return p.parse_args()


class Failure(Exception):
    pass


# A personal-data value the scenario publishes (a PII field of deal.stage.*): the gateway's log must never contain it.
PII_PROBE = "pii-probe-4711@example.com"


class SetupError(Exception):
    pass


class Report:
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        print(("PASS  " if ok else "FAIL  ") + name + (f"  ({detail})" if detail else ""), flush=True)
        return bool(ok)

    def failed(self):
        return [r for r in self.results if not r[1]]


# ---------------------------------------------------------------- tokens and HTTP

def mint(args, **claims):
    import jwt  # PyJWT
    now = int(time.time())
    payload = {"iat": now, "nbf": now - 5, "exp": now + 3600, "jti": str(uuid.uuid4())}
    if args.issuer:
        payload["iss"] = args.issuer
    if args.audience:
        payload["aud"] = args.audience
    payload.update(claims)
    token = jwt.encode(payload, args.secret, algorithm="HS256")
    return token.decode() if isinstance(token, bytes) else token


def http(method, url, token=None, body=None, timeout=10):
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Publisher:
    """Publishes numbered events; remembers what each company should see, in publish order."""

    def __init__(self, base_url, token, run_id):
        self.url = base_url + "/api/realtime/publish/"
        self.token = token
        self.run_id = run_id
        self.seq = 0
        self.expected = []      # seq numbers of company-123 events, in publish order
        self.foreign = []       # seq numbers of other-company events

    def publish(self, event_type="deal.stage.updated", company=COMPANY):
        self.seq += 1
        data = {"company_id": company, "deal_id": 1000 + self.seq, "seq": self.seq, "run_id": self.run_id,
                "old_stage": "prospecting", "new_stage": "qualification", "user_id": 4242,
                "contact_email": PII_PROBE}
        if event_type.startswith("timeline."):
            data = {"company_id": company, "object_id": 2000 + self.seq, "seq": self.seq, "run_id": self.run_id}
        status, text = http("POST", self.url, self.token, {"event_type": event_type, "data": data})
        if status != 202:
            raise Failure(f"publish {event_type} for company {company}: HTTP {status} {text[:300]}")
        reply = json.loads(text)
        if not reply.get("event_id") or reply.get("duplicate") is not False:
            raise Failure(f"publish reply should carry event_id and duplicate=false: {text[:300]}")
        (self.expected if company == COMPANY else self.foreign).append(self.seq)
        return reply


# ---------------------------------------------------------------- browser

def start_browser(args):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    for path, what in ((args.chromium, "chromium"), (args.chromedriver, "chromedriver")):
        if not os.path.exists(path):
            raise SetupError(f"{what} not found at {path} (apt-get install chromium chromium-driver)")
    opts = Options()
    opts.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--no-first-run", "--no-default-browser-check"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=opts)
    driver.set_page_load_timeout(args.timeout)
    driver.set_script_timeout(args.timeout)
    return driver


# Fallback when document.write did not run the page: rebuild it and re-create each script in order
# (scripts that come from DOMParser or innerHTML never run by themselves).
INJECT_WITH_DOM = """
const html = arguments[0], done = arguments[arguments.length - 1];
const parsed = new DOMParser().parseFromString(html, 'text/html');
document.head.innerHTML = parsed.head.innerHTML;
document.body.innerHTML = '';
(async () => {
  for (const node of Array.from(parsed.body.childNodes)) {
    if (node.nodeName !== 'SCRIPT') { document.body.appendChild(document.importNode(node, true)); continue; }
    const s = document.createElement('script');
    for (const a of Array.from(node.attributes)) s.setAttribute(a.name, a.value);
    if (node.src) {
      await new Promise((ok) => { s.onload = s.onerror = ok; document.body.appendChild(s); });
    } else {
      s.textContent = node.textContent;
      document.body.appendChild(s);
    }
  }
})().then(() => done(true), (e) => done(String(e)));
"""


def load_page(driver, args, token, extra_hash=None):
    with open(PAGE, encoding="utf-8") as f:
        html = f.read()
    driver.get(args.base_url + args.origin_path + "#" + urllib.parse.urlencode({"token": token, **(extra_hash or {})}))
    # Same origin as the gateway; the hash stays, and the global is a second way to hand over the token.
    # The page is written from a timer, after this WebDriver call has returned, so no driver waits on a
    # document that document.open() replaces.
    try:
        driver.execute_script("""
            window.__TEST_TOKEN__ = arguments[1];
            const html = arguments[0];
            setTimeout(() => { document.open(); document.write(html); document.close(); }, 0);""", html, token)
    except Exception as e:
        print(f"note  document.write injection raised {type(e).__name__}: {e}")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if driver.execute_script("return !!(window.harness && window.harness.ready) || !!(window.harness && window.harness.fatal)"):
            return "document.write"
        time.sleep(0.1)
    if driver.execute_script("return typeof window.harness === 'undefined' && typeof RealtimeClient === 'undefined'"):
        driver.execute_script("window.__TEST_TOKEN__ = arguments[0];", token)
        result = driver.execute_async_script(INJECT_WITH_DOM, html)
        if result is not True:
            raise Failure(f"could not inject the test page: {result}")
        return "DOM injection"
    return "document.write (slow)"


def state(driver):
    return driver.execute_script("""
        const pick = (list) => list.map((e) => ({
            id: e && e.event_id, type: e && e.event_type,
            seq: e && e.data ? e.data.seq : null, run: e && e.data ? e.data.run_id : null,
            company: e && e.data ? String(e.data.company_id) : null }));
        const h = window.harness || {};
        return {
            ready: !!h.ready, fatal: h.fatal || null, pageErrors: window.pageErrors || [],
            ws: pick((window.received || {}).ws || []), poll: pick((window.received || {}).poll || []),
            sdk: pick((window.received || {}).sdk || []),
            h: JSON.parse(JSON.stringify(h)),
            sdkState: window.sdk ? window.sdk.state : null,
            sdkCursor: window.sdk ? window.sdk.cursor : null,
            sdkDuplicates: window.sdk ? window.sdk.stats.duplicates : null,
            fb: pick((window.received || {}).fb || []),
            fbState: window.sdkFallback ? window.sdkFallback.state : null,
            fbCursor: window.sdkFallback ? window.sdkFallback.cursor : null,
            fbStored: h.fb && h.fb.storageKey ? localStorage.getItem(h.fb.storageKey) : null,
            fbDuplicates: window.sdkFallback ? window.sdkFallback.stats.duplicates : null,
            refWsReady: window.refWs && window.refWs.ws ? window.refWs.ws.readyState : null,
        };
    """)


def wait_until(driver, what, predicate, timeout):
    """Polls the page state until predicate(state) is true; fails fast on a fatal harness error."""
    deadline = time.monotonic() + timeout
    s = state(driver)
    while time.monotonic() < deadline:
        if predicate(s):
            return s
        if s["fatal"]:
            raise Failure(f"{what}: page reports {s['fatal']}")
        time.sleep(0.1)
        s = state(driver)
    raise Failure(f"timed out after {timeout:.0f} s waiting for {what}; page state: " + summary(s))


def summary(s):
    return json.dumps({
        "fatal": s["fatal"], "pageErrors": s["pageErrors"][-5:],
        "ws": {"seqs": seqs(s["ws"]), "messages": s["h"].get("ws", {}).get("messages", [])[-10:],
               "errors": s["h"].get("ws", {}).get("errors", [])[-5:], "readyState": s["refWsReady"]},
        "poll": {"seqs": seqs(s["poll"]), **{k: s["h"].get("poll", {}).get(k) for k in ("started", "inflight")},
                 "statuses": s["h"].get("poll", {}).get("statuses", [])[-10:]},
        "sdk": {"seqs": seqs(s["sdk"]), "state": s["sdkState"],
                **{k: s["h"].get("sdk", {}).get(k) for k in ("states", "closes", "errors", "resumed")},
                "messages": s["h"].get("sdk", {}).get("messages", [])[-10:]},
        "fallback": {"seqs": seqs(s["fb"]), "state": s["fbState"], "cursor": s["fbCursor"],
                     **{k: s["h"].get("fb", {}).get(k) for k in ("states", "closes", "wsAttempts")},
                     "errors": s["h"].get("fb", {}).get("errors", [])[-5:],
                     "polls": s["h"].get("fb", {}).get("polls", [])[-6:]},
    })


def seqs(events):
    return [e["seq"] for e in events]


def own(events, run_id):
    return [e for e in events if e["run"] == run_id]


def has_all(events, run_id, expected):
    got = set(seqs(own(events, run_id)))
    return all(n in got for n in expected)


def free_port():
    """A local TCP port nothing listens on (bound, then released): the fallback client's dead WebSocket."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answered(polls):
    """(index, poll) of the fallback client's polls answered 200 whose body the page has read."""
    return [(i, p) for i, p in enumerate(polls) if p["status"] == 200 and p["events"] is not None]


def handovers(polls):
    """(answer, next poll) pairs: each 200 answer and the poll the client sent right after it."""
    return [(p, polls[i + 1]) for i, p in answered(polls) if i + 1 < len(polls)]


# ---------------------------------------------------------------- the test

def verify_reference_copy(args, report):
    """The page must carry the reference classes character for character."""
    candidates = [args.reference] if args.reference else [
        os.path.join(HERE, "..", "..", "..", "shared", "reference", "realtime-architecture.md"),
        "/work/shared/reference/realtime-architecture.md"]
    doc_path = next((p for p in candidates if p and os.path.exists(p)), None)
    if not doc_path:
        print("note  reference document not found; skipping the verbatim-copy check")
        return
    doc = open(doc_path, encoding="utf-8").read()
    page = open(PAGE, encoding="utf-8").read()
    for name in ("RealtimeClient", "LongPollingClient"):
        start = doc.find(f"class {name} {{")
        end = doc.find("\n}\n", start)
        ok = start >= 0 and end > start and doc[start:end + 3] in page
        report.check(f"page carries the reference {name} unchanged", ok)


def run(args, report, driver):
    run_id = uuid.uuid4().hex[:12]
    user = mint(args, sub="4242", user_id=4242, company_id=COMPANY, roles=["sales"])
    # The fallback client polls as another user of the company: its own poll rate limit.
    fallback_user = mint(args, sub="4243", user_id=4243, company_id=COMPANY, roles=["sales"])
    dead_ws = f"ws://127.0.0.1:{free_port()}/ws"
    publisher = Publisher(args.base_url, mint(args, sub="browser-test-publisher", user_id="svc-browser-test",
                                              roles=["service"]), run_id)
    t = args.timeout

    how = load_page(driver, args, user, {"fbtoken": fallback_user, "deadws": dead_ws})
    print(f"info  test page loaded by {how} into {args.base_url + args.origin_path}")
    s = wait_until(driver, "the harness to start", lambda s: s["ready"], t)
    report.check("test page and /realtime.js loaded, harness started", s["ready"] and not s["pageErrors"],
                 "; ".join(s["pageErrors"]))

    s = wait_until(driver, "reference RealtimeClient subscribed", lambda s: s["h"]["ws"]["subscribed"], t)
    established = s["h"]["ws"]["established"] or {}
    report.check("reference RealtimeClient connected and subscribed",
                 "connection.established" in s["h"]["ws"]["messages"] and not s["h"]["ws"]["errors"],
                 f"connection.established={json.dumps(established)[:200]} errors={s['h']['ws']['errors']}")
    s = wait_until(driver, "realtime.js client subscribed", lambda s: s["h"]["sdk"]["subscribed"], t)
    report.check("realtime.js client open and subscribed", s["sdkState"] == "open", f"state={s['sdkState']}")
    # The fallback client's WebSocket never opens: it must be long-polling, with a first answer (so a
    # cursor) in hand, before anything is published.
    s = wait_until(driver, f"the fallback client to give up on {dead_ws} and long-poll the gateway",
                   lambda s: s["fbState"] == "polling" and answered(s["h"]["fb"]["polls"]), t)
    fb = s["h"]["fb"]
    before = fb["states"][:fb["states"].index("polling")] if "polling" in fb["states"] else fb["states"]
    report.check(f"fallback client: {FALLBACK_AFTER} failed WebSocket opens, then state 'polling'",
                 fb["opens"] == 0 and "open" not in before and fb["closes"] == [1006] * FALLBACK_AFTER,
                 f"states {fb['states']}, closes {fb['closes']}, opens {fb['opens']}, url {dead_ws}")
    polls = fb["polls"]
    wrong = [p for p in polls if p["origin"] != fb["pageOrigin"] or p["path"] != "/api/realtime/poll/"]
    first = answered(polls)[0][1]
    report.check("fallback client long-polls the gateway's own /api/realtime/poll/", not wrong,
                 f"polled {wrong[:3]}, not {fb['pageOrigin']}/api/realtime/poll/" if wrong else
                 f"{fb['pageOrigin']}; first answer: {first['events']} events, cursor {first['cursor']}")
    # The reference poller starts at the live head; give its first request time to reach the gateway.
    wait_until(driver, "the reference LongPollingClient's first poll", lambda s: s["h"]["poll"]["inflight"] >= 1, t)
    time.sleep(1.0)

    # Batch 1: three deal events, one timeline event, and one event of another company.
    publisher.publish()
    publisher.publish()
    publisher.publish(company=OTHER_COMPANY)
    publisher.publish()
    publisher.publish("timeline.object.created")
    batch1 = list(publisher.expected)
    for key, name in (("ws", "reference RealtimeClient"), ("poll", "reference LongPollingClient"),
                      ("sdk", "realtime.js client"), ("fb", "realtime.js fallback client (long-polling)")):
        s = wait_until(driver, f"{name} to receive {batch1}", lambda s, k=key: has_all(s[k], run_id, batch1), t)
        report.check(f"{name} received the first {len(batch1)} events", True, f"seq {seqs(own(s[key], run_id))}")

    # Drop the SDK's socket from the page (not disconnect()): it must reconnect and resume by cursor.
    before = state(driver)
    opens_before = before["h"]["sdk"]["opens"]
    sent_before = len(before["h"]["sdk"]["sent"])
    driver.execute_script("window.sdk.ws.close();")
    s = wait_until(driver, "the SDK to notice the dropped socket", lambda s: s["sdkState"] != "open", t)
    report.check("SDK treats a socket closed under it as a drop", s["sdkState"] in ("reconnecting", "connecting"),
                 f"state={s['sdkState']} closes={s['h']['sdk']['closes']}")
    for _ in range(5):
        publisher.publish()
    publisher.publish(company=OTHER_COMPANY)
    away = state(driver)["sdkState"] != "open"
    print(f"info  SDK still away after publishing 5 more events: {away}")

    expected = list(publisher.expected)
    s = wait_until(driver, "the SDK to reconnect and receive every event",
                   lambda s: s["h"]["sdk"]["opens"] > opens_before and has_all(s["sdk"], run_id, expected), t)
    sent = s["h"]["sdk"]["sent"][sent_before:]
    report.check("SDK reconnected and sent subscribe then cursor.update",
                 "subscribe" in sent and "cursor.update" in sent and sent.index("subscribe") < sent.index("cursor.update"),
                 f"sent after the drop: {sent[:6]}")
    resumed = s["h"]["sdk"]["resumed"]
    if away:
        report.check("gateway answered cursor.update with cursor.resumed replaying the 5 missed events",
                     any(r.get("replayed") == 5 for r in resumed), f"cursor.resumed: {resumed}")
    else:
        report.check("gateway answered cursor.update with cursor.resumed", bool(resumed), f"cursor.resumed: {resumed}")

    for key, name in (("ws", "reference RealtimeClient"), ("poll", "reference LongPollingClient"),
                      ("fb", "realtime.js fallback client (long-polling)")):
        s = wait_until(driver, f"{name} to receive all {len(expected)} events",
                       lambda s, k=key: has_all(s[k], run_id, expected), t)
    time.sleep(1.0)  # let anything that should not arrive (duplicates, other tenants) show up
    s = state(driver)
    for key, name in (("ws", "reference RealtimeClient"), ("poll", "reference LongPollingClient"),
                      ("sdk", "realtime.js client"), ("fb", "realtime.js fallback client (long-polling)")):
        got = seqs([e for e in own(s[key], run_id) if e["company"] == COMPANY])
        report.check(f"{name} has every event exactly once, in order", got == expected,
                     f"expected {expected}, got {got}")
        foreign = [e for e in s[key]
                   if e["company"] != COMPANY or (e["run"] == run_id and e["seq"] in publisher.foreign)]
        report.check(f"{name} saw no event of company {OTHER_COMPANY} (tenant isolation)", not foreign,
                     f"{len(foreign)} foreign events" if foreign else "")
    last_sdk_id = own(s["sdk"], run_id)[-1]["id"] if own(s["sdk"], run_id) else None
    stored = driver.execute_script("""
        for (let i = 0; i < localStorage.length; i++) {
            const k = localStorage.key(i);
            if (localStorage.getItem(k) === arguments[0]) return k;
        }
        return null;""", last_sdk_id)
    report.check("SDK cursor is the last event_id, kept in localStorage",
                 s["sdkCursor"] == last_sdk_id and stored and COMPANY in stored,
                 f"cursor={s['sdkCursor']} last event_id={last_sdk_id} localStorage key={stored}")

    # An empty poll must still move the cursor on: publish for another company only. The log head moves,
    # the fallback client's next answer has no events and that head as its cursor, and the client must
    # keep it (memory and localStorage) and send it with its next poll.
    head = str(publisher.publish(company=OTHER_COMPANY).get("cursor"))

    def empty_answer_at(s):
        polls = s["h"]["fb"]["polls"]
        return next(((p, polls[i + 1]) for i, p in answered(polls)
                     if p["events"] == 0 and p["cursor"] == head and p["sent"] != head and i + 1 < len(polls)), None)

    s = wait_until(driver, f"a fallback poll answered with no events and the new log head {head} as cursor",
                   empty_answer_at, t)
    answer, after = empty_answer_at(s)
    report.check("fallback client keeps the cursor of an empty poll answer (the log head)",
                 after["sent"] == head and s["fbCursor"] == head and s["fbStored"] == head,
                 f"poll with cursor {answer['sent']} answered events=[] cursor={answer['cursor']}; next poll sent "
                 f"cursor={after['sent']}; SDK cursor {s['fbCursor']}, localStorage {s['fbStored']}")
    polls = s["h"]["fb"]["polls"]
    pairs = handovers(polls)
    lost = [f"answer {a['seqs']} cursor {a['cursor']} -> next poll sent {n['sent']}" for a, n in pairs
            if n["sent"] != a["cursor"]]
    empties = sum(1 for a, _ in pairs if a["events"] == 0)
    report.check("fallback client sent with every poll the cursor of the answer before it", pairs and not lost,
                 "; ".join(lost[:5]) if lost else f"{len(pairs)} answers, {empties} of them empty")
    odd = [(i, p["status"]) for i, p in enumerate(polls[:-1]) if p["status"] != 200]
    report.check("every fallback poll answered 200", not odd, f"{len(polls)} polls" + (f"; not 200: {odd}" if odd else ""))
    report.check("fallback client still long-polling while its WebSocket probes fail", s["fbState"] == "polling"
                 and s["h"]["fb"]["opens"] == 0 and not s["h"]["fb"]["authErrors"],
                 f"state {s['fbState']}, WebSocket opens tried {s['h']['fb']['wsAttempts']} "
                 f"({FALLBACK_AFTER} before polling), duplicates dropped {s['fbDuplicates']}")

    report.check("page raised no JavaScript errors", not s["pageErrors"], "; ".join(s["pageErrors"]))
    print(f"info  SDK dropped {s['sdkDuplicates']} duplicate deliveries; states {s['h']['sdk']['states']}")


def png_is_blank(png):
    """Whether a PNG screenshot is (nearly) one colour: decodes it with the standard library only."""
    import struct
    import zlib
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return True
    pos, width, height, channels, idat = 8, 0, 0, 0, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {2: 3, 6: 4, 0: 1, 4: 2}.get(colour, 0)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    pixels = set()
    previous = bytearray(width * channels)
    for row in range(height):
        line = bytearray(raw[row * stride + 1:(row + 1) * stride])
        kind = raw[row * stride]
        for i in range(len(line)):  # undo the PNG filters (None, Sub, Up, Average, Paeth)
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = line
        if row % 8 == 0:
            for x in range(0, width, 8):
                pixels.add(bytes(line[x * channels:(x + 1) * channels]))
    return len(pixels) < 8


def run_dashboard(args, report, driver):
    """/dashboard in the browser: it loads, connects with an admin token, and its published count follows traffic."""
    admin = mint(args, sub="ops-1", roles=["admin"])
    driver.get(args.base_url + "/dashboard#" + urllib.parse.urlencode({"token": admin}))

    def read(element_id):
        return driver.execute_script(f"return document.getElementById('{element_id}').textContent")

    deadline = time.time() + 10
    while time.time() < deadline and not read("published").isdigit():
        time.sleep(0.2)
    before = read("published")
    report.check("dashboard loads and connects with an admin token", before.isdigit() and read("state") == "live",
                 f"state {read('state')!r}, published {before!r}, policy {read('policy-version')!r}")
    publisher = mint(args, sub="backend", roles=["service"])
    for n in range(3):
        status, text = http("POST", args.base_url + "/api/realtime/publish/", publisher,
                            {"event_type": "deal.stage.updated", "data": {"company_id": COMPANY, "deal_id": 900 + n}})
        if status != 202:
            raise Failure(f"dashboard publish: HTTP {status} {text[:200]}")
    deadline = time.time() + 10
    after = before
    while time.time() < deadline and (not after.isdigit() or not before.isdigit() or int(after) < int(before) + 3):
        time.sleep(0.2)
        after = read("published")
    report.check("dashboard's published count rises when events are published",
                 before.isdigit() and after.isdigit() and int(after) >= int(before) + 3, f"{before} -> {after}")
    shot = args.screenshot.replace(".png", "") + "-dashboard.png"
    png = driver.get_screenshot_as_png()
    with open(shot, "wb") as f:
        f.write(png)
    report.check("dashboard screenshot is not blank", not png_is_blank(png), f"{len(png)} bytes, {shot}")


def main():
    args = parse_args()
    args.base_url = args.base_url.rstrip("/")
    if not args.secret:
        print("error: the gateway's JWT secret is required (--secret or $JWT_SECRET)", file=sys.stderr)
        return 2
    if len(args.secret.encode()) < 32:
        print("error: the JWT secret must be at least 32 bytes", file=sys.stderr)
        return 2
    if not args.base_url.startswith("http://localhost:8000"):
        print("warning: the reference RealtimeClient always connects to ws://localhost:8000/ws", file=sys.stderr)
    try:
        import jwt  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as e:
        print(f"error: {e.name} is missing: pip install selenium PyJWT", file=sys.stderr)
        return 2

    report = Report()
    verify_reference_copy(args, report)
    try:
        status, text = http("GET", args.base_url + "/api/realtime/health/", timeout=5)
    except OSError as e:
        print(f"error: gateway not reachable at {args.base_url}: {e}", file=sys.stderr)
        return 2
    report.check("gateway health endpoint answers", status in (200, 503), f"HTTP {status} {text[:120]}")

    try:
        driver = start_browser(args)
    except Exception as e:  # SetupError, or selenium failing to start the browser
        print(f"error: cannot start headless Chromium: {e}", file=sys.stderr)
        return 2
    try:
        run(args, report, driver)
        run_dashboard(args, report, driver)
    except Failure as e:
        report.check("browser scenario completed", False, str(e))
    except Exception as e:  # a selenium or page error: report it like a failed check
        report.check("browser scenario completed", False, f"{type(e).__name__}: {e}")
    finally:
        try:
            time.sleep(0.3)  # let the page render its status once more
            driver.save_screenshot(args.screenshot)
            print(f"info  screenshot: {args.screenshot}")
        except Exception as e:
            print(f"note  no screenshot: {e}")
        if report.failed():
            try:
                for entry in driver.get_log("browser")[-40:]:
                    print(f"console  {entry.get('level')}  {entry.get('message')}")
            except Exception:
                pass
        driver.quit()

    failed = report.failed()
    passed = len(report.results) - len(failed)
    print()
    print("BROWSER TEST " + ("FAIL" if failed else "PASS"))
    for name, _, detail in failed:
        print(f"  failed: {name}" + (f" ({detail})" if detail else ""))
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
