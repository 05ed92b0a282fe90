"""Script and HTML in anything users provide is shown as text and never runs.

Names are limited by the server (usernames and room names allow only a-z 0-9 _ . -), so
the payloads go where free text is allowed: message bodies, plain-text guests' names, and
a room name typed into the page's address. Each payload calls ``xss(n)`` or ``alert``;
an init script records any call, a dialog fails the test, and the DOM is checked for
elements or attributes that only injected markup could have made.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import aiohttp
from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, Dialog, expect
from support import RunningServer, register

PAYLOADS = [
    "<script>xss(1)</script>",
    "<img src=x onerror=xss(2)>",
    "<svg onload=xss(3)>",
    "<svg><script>xss(4)</script></svg>",
    '<iframe src="javascript:xss(5)"></iframe>',
    "<body onload=xss(6)>",
    '<a href="javascript:xss(7)">click me</a>',
    "javascript:xss(8)",
    "<math><mtext><table><mglyph><style><img src=x onerror=xss(9)>",
    '"><script>xss(10)</script>',
    "'><img src=x onerror=xss(11)>",
    "</textarea><script>xss(12)</script>",
    "</title><script>xss(13)</script>",
    "<details open ontoggle=xss(14)>",
    "<input autofocus onfocus=xss(15)>",
    "<video><source onerror=xss(16)></video>",
    '<object data="javascript:xss(17)"></object>',
    '<embed src="javascript:xss(18)">',
    "<marquee onstart=xss(19)>x</marquee>",
    '<div style="background:url(javascript:xss(20))">styled</div>',
    "<style>@import 'javascript:xss(21)';</style>",
    '<base href="javascript:xss(22)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:xss(23)">',
    '<form action="javascript:xss(24)"><button>go</button></form>',
    '<img src="x" onerror="&#x78;ss(25)">',
    "<scr<script>ipt>xss(26)</scr</script>ipt>",
    "{{constructor.constructor('xss(27)')()}}",
    "${xss(28)}",
    'https://example.org/"><img src=x onerror=xss(29)>',
    "https://example.org/?q=<script>xss(30)</script>",
    "<a href=https://example.org onclick=xss(31)>link</a>",
    "<template><img src=x onerror=xss(32)></template>",
    '<noscript><p title="</noscript><img src=x onerror=xss(33)>">',
    "<svg><animate onbegin=xss(34) attributeName=x dur=1s>",
    "<!--<img src=x onerror=xss(35)>-->",
    "<img src=x onerror=alert(36)>",
    "<script>alert(37)</script>",
    "&lt;b&gt;entities&lt;/b&gt; &amp; <b>bold?</b>",
    "\u202e<b>reversed</b> \u200b zero-width",
    "line one\n<script>xss(38)</script>\nline three",
]
GUEST_NAMES = ["<img src=x onerror=xss(100)>", "<script>xss(101)</script>", '"><b>x</b>']

# Runs before the page's own scripts: any payload that executes leaves a mark.
TRAP = """
window.__xss = [];
window.xss = (n) => window.__xss.push(n);
"""

# The client makes only these elements where user text is shown: anything else there was
# injected.
CHECK_DOM = """
() => {
  const allowed = new Set(['LI', 'SPAN', 'DIV', 'TIME', 'A', 'BUTTON', 'P', 'H2']);
  const shown = '#message-list, .room-list, #room-name, #room-sub, #room-empty, #typing';
  const strays = [];
  for (const root of document.querySelectorAll(shown)) {
    for (const node of root.querySelectorAll('*')) {
      if (!allowed.has(node.tagName)) strays.push(node.tagName);
    }
  }
  const handlers = [];
  for (const node of document.querySelectorAll('*')) {
    for (const attr of node.attributes) {
      if (attr.name.startsWith('on')) handlers.push(node.tagName + ' ' + attr.name);
    }
  }
  const links = [...document.querySelectorAll('#message-list a')]
    .map(a => [a.protocol, a.rel, a.target]);
  return JSON.stringify({
    strays, handlers, links,
    scripts: document.scripts.length,
    xss: window.__xss,
  });
}
"""


async def test_hostile_text_is_shown_as_text_and_runs_nothing(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    dialogs: list[str] = []
    context = await new_context(browser)
    await context.add_init_script(TRAP)
    await sign_in_over_http(context, server.url, "alice")
    assert (await context.request.post(f"{server.url}/api/v1/rooms", data={"name": "den"})).ok
    assert (await context.request.post(f"{server.url}/api/v1/rooms/lobby/join")).ok

    # mallory posts every payload; plain-text guests with hostile names post in lobby.
    mallory = await register(http, server.url, "mallory")
    auth = {"Authorization": f"Bearer {mallory}"}
    async with http.post(f"{server.url}/api/v1/rooms/den/join", headers=auth) as r:
        assert r.status == 200
    for body in PAYLOADS:
        async with http.post(
            f"{server.url}/api/v1/rooms/den/messages",
            json={"client_msg_id": uuid.uuid4().hex, "body": body},
            headers=auth,
        ) as r:
            assert r.status == 201
    for i, name in enumerate(GUEST_NAMES):
        guest = await http.ws_connect(server.ws_url, headers={"Origin": "null"})
        await guest.send_str(f"start_{name}")
        await guest.send_str(PAYLOADS[i])
        assert (await guest.receive()).data == PAYLOADS[i]  # stored and relayed back
        await guest.close()

    alice = await ChatPage.open(context, server.url, "/#/room/den")
    alice.page.on("dialog", lambda dialog: record_dialog(dialogs, dialog))
    await alice.wait_online()
    await alice.wait_room("den")
    await alice.wait_bodies(PAYLOADS)
    # alice types some herself: shown from the outbox first, then as stored.
    typed = PAYLOADS[:6]
    for body in typed:
        await alice.send(body)
    await alice.wait_bodies(PAYLOADS + typed)
    await expect(alice.messages("sent")).to_have_count(len(PAYLOADS) + len(typed))
    await expect(alice.page.locator("#message-list .msg-author")).to_have_text(["mallory", "alice"])
    # Only real http(s) URLs became links, and the text after them stayed text.
    links = await alice.page.eval_on_selector_all(
        "#message-list a", "as => JSON.stringify(as.map(a => [a.textContent, a.href]))"
    )
    assert json.loads(links) == [
        ["https://example.org/", "https://example.org/"],
        ["https://example.org/?q=", "https://example.org/?q="],
        ["https://example.org", "https://example.org/"],
    ]
    await assert_nothing_injected(alice, dialogs)

    # Guests' names are free text: shown as the author, as text.
    await alice.open_room("lobby")
    await alice.wait_bodies(PAYLOADS[: len(GUEST_NAMES)])
    authors = await alice.page.eval_on_selector_all(
        "#message-list .msg-author", "ns => JSON.stringify(ns.map(n => n.textContent))"
    )
    assert json.loads(authors) == GUEST_NAMES
    await assert_nothing_injected(alice, dialogs)

    # A room name typed into the address: shown in the header and the notice, as text.
    hostile_room = "<img src=x onerror=xss(200)>"
    await alice.page.goto(f"{server.url}/#/room/{quote(hostile_room)}")
    await alice.wait_online()
    await expect(alice.page.locator("#room-label")).to_have_text(hostile_room)
    await expect(alice.page.locator("#room-empty")).to_contain_text(hostile_room)
    await assert_nothing_injected(alice, dialogs)
    alice.assert_no_errors()


def record_dialog(dialogs: list[str], dialog: Dialog) -> None:
    dialogs.append(f"{dialog.type}: {dialog.message}")


async def assert_nothing_injected(page: ChatPage, dialogs: list[str]) -> None:
    report = json.loads(await page.page.evaluate(CHECK_DOM))
    assert dialogs == []
    assert report["xss"] == [], report
    assert report["strays"] == [], report
    assert report["handlers"] == [], report
    assert report["scripts"] == 1, report  # the client's own module
    for protocol, rel, target in report["links"]:
        assert protocol in ("http:", "https:")
        assert rel == "noopener noreferrer nofollow"
        assert target == "_blank"
