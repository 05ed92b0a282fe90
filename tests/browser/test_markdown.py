"""Formatted messages: what one person writes in Markdown, the other sees as formatting;
markup and script in any form stay text; a long message is folded behind "Show more"."""

from __future__ import annotations

import json

import aiohttp
from chatpage import login_token, two_people_in_a_room
from playwright.async_api import Browser, Dialog, Locator, expect
from support import RunningServer, bearer

FORMATTED = "\n".join(
    [
        "**bold** _italic_ ~~gone~~ `x < y`",
        "",
        "```python",
        "print('<b>hi</b>')  # **not bold**",
        "```",
        "> quoted **text**",
        "",
        "- one",
        "- two",
        "  - nested",
        "",
        "1. first",
        "2. second",
        "",
        "see [the docs](https://example.org/docs) and https://example.org/bare, @bob and @carol",
    ]
)

# Each payload would set the flag, call alert, or add an element if it were interpreted.
PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    "<img src=x onerror=window.__pwned=2>",
    "**<img src=x onerror=alert(3)>**",
    "[click](javascript:window.__pwned=4)",
    "[click](JaVaScRiPt:window.__pwned=5)",
    "[click]( javascript:window.__pwned=6)",
    "[click](&#106;avascript:window.__pwned=7)",
    "[click](data:text/html,<script>parent.__pwned=8</script>)",
    "[click](vbscript:msgbox(9))",
    "![img](javascript:window.__pwned=10)",
    "![img](http://127.0.0.1:9/x.png)",
    '[click](http://a.example/"onmouseover="window.__pwned=11)',
    "```\n<img src=x onerror=window.__pwned=12>\n```",
    "`<svg onload=window.__pwned=13>`",
    "> <iframe src=javascript:window.__pwned=14></iframe>",
    "- <details open ontoggle=window.__pwned=15>",
]
EDITED = "[edit](javascript:window.__pwned=16) <img src=x onerror=alert(17)> **done**"

# Runs before the page's own scripts: anything a payload runs leaves a mark.
TRAP = "window.__pwned = 0;"

# The elements formatted text is made of; anything else in the list was injected.
CHECK_DOM = """
() => {
  const allowed = new Set(['LI', 'SPAN', 'DIV', 'TIME', 'A', 'BUTTON', 'P', 'H2', 'STRONG',
    'EM', 'DEL', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL']);
  const list = document.querySelector('#message-list');
  const strays = [...list.querySelectorAll('*')]
    .map(node => node.tagName).filter(tag => !allowed.has(tag));
  const handlers = [...list.querySelectorAll('*')].flatMap(node => [...node.attributes]
    .filter(a => a.name.startsWith('on')).map(a => node.tagName + ' ' + a.name));
  const links = [...list.querySelectorAll('a')].map(a => [a.protocol, a.rel, a.target]);
  return JSON.stringify({ strays, handlers, links, pwned: window.__pwned });
}
"""


async def test_formatting_shows_on_the_other_page_and_after_an_edit(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    await alice.send(FORMATTED)
    await alice.send("plain for now")
    await expect(bob.messages("sent")).to_have_count(2)
    body = bob.messages().nth(0).locator(".msg-body")

    await expect(body.locator("strong").first).to_have_text("bold")
    await expect(body.locator("em")).to_have_text("italic")
    await expect(body.locator("del")).to_have_text("gone")
    await expect(body.locator("code.md-code")).to_have_text("x < y")
    code = body.locator("pre > code")
    await expect(code).to_have_text("print('<b>hi</b>')  # **not bold**")
    await expect(code).to_have_attribute("data-lang", "python")
    await expect(body.locator("blockquote strong")).to_have_text("text")
    await expect(body.locator(":scope > ul > li")).to_have_count(2)
    await expect(body.locator("ul ul > li")).to_have_text(["nested"])
    await expect(body.locator("ol > li")).to_have_text(["first", "second"])
    docs = body.locator('a[href="https://example.org/docs"]')
    await expect(docs).to_have_text("the docs")
    await expect(docs).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(docs).to_have_attribute("target", "_blank")
    await expect(body.locator('a[href="https://example.org/bare"]')).to_have_text(
        "https://example.org/bare"
    )
    # Mentions: bob is named on bob's page; on alice's page it is someone else.
    await expect(body.locator(".mention.mention-me")).to_have_text("@bob")
    await expect(body.locator(".mention:not(.mention-me)")).to_have_text("@carol")
    mine = alice.messages().nth(0).locator(".msg-body")
    await expect(mine.locator(".mention")).to_have_text(["@bob", "@carol"])
    await expect(mine.locator(".mention-me")).to_have_count(0)
    # Nothing was made of the HTML in the code block.
    await expect(body.locator("b")).to_have_count(0)

    # An edit is shown formatted too, in the same row.
    rows = bob.page.locator("#message-list .msg")
    seq = await rows.nth(1).get_attribute("data-seq")
    token = await login_token(http, server.url, "alice")
    async with http.patch(
        f"{server.url}/api/v1/rooms/den/messages/{seq}",
        json={"body": "now **bold**, @room"},
        headers=bearer(token),
    ) as edited:
        assert edited.status == 200, await edited.text()
    edited_body = rows.nth(1).locator(".msg-body")
    await expect(edited_body).to_have_text("now bold, @room (edited)")
    await expect(edited_body.locator("strong")).to_have_text("bold")
    await expect(edited_body.locator(".mention.mention-me")).to_have_text("@room")
    for page in (alice, bob):
        page.assert_no_errors()


async def test_hostile_messages_and_edits_run_nothing(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    dialogs: list[str] = []
    for page in (alice, bob):
        await page.page.context.add_init_script(TRAP)
        page.page.on("dialog", lambda dialog: dismiss(dialogs, dialog))
        await page.page.reload()
        await page.wait_online()
        await page.wait_room("den")

    for body in PAYLOADS:
        await alice.send(body)
    await expect(bob.messages("sent")).to_have_count(len(PAYLOADS))
    await expect(alice.messages("sent")).to_have_count(len(PAYLOADS))

    # The one safe link among them: its URL is escaped, not an attribute of its own.
    quoted = bob.page.locator("#message-list a", has_text="click")
    await expect(quoted).to_have_count(1)
    assert await quoted.get_attribute("href") == (
        "http://a.example/%22onmouseover=%22window.__pwned=11"
    )
    await quoted.hover()
    # The image syntax is text; the URL in it is an ordinary link, not an image.
    await expect(bob.page.locator("#message-list img")).to_have_count(0)
    await expect(bob.page.locator("#message-list pre code")).to_have_text(
        "<img src=x onerror=window.__pwned=12>"
    )

    # alice edits her last message into another payload: both pages make the row again.
    last = alice.messages().last
    await last.hover()
    await last.get_by_role("button", name="Edit").click()
    editor = last.get_by_role("textbox", name="Edit message")
    await editor.fill(EDITED)
    await editor.press("Enter")
    for page in (alice, bob):
        edited = page.messages().last.locator(".msg-body")
        await expect(edited).to_have_text(
            "[edit](javascript:window.__pwned=16) <img src=x onerror=alert(17)> done (edited)"
        )
        await expect(edited.locator("strong")).to_have_text("done")

    for page in (alice, bob):
        report = json.loads(await page.page.evaluate(CHECK_DOM))
        assert report["pwned"] == 0, report
        assert report["strays"] == [], report
        assert report["handlers"] == [], report
        for protocol, rel, target in report["links"]:
            assert protocol in ("http:", "https:"), report
            assert rel == "noopener noreferrer nofollow"
            assert target == "_blank"
        page.assert_no_errors()
    assert dialogs == []


async def test_a_long_message_is_folded_until_show_more(
    server: RunningServer, browser: Browser
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    long = "\n".join(f"line {n}" for n in range(1, 61))
    await alice.send(long)
    await alice.send("short")
    await expect(bob.messages("sent")).to_have_count(2)

    row = bob.messages().nth(0)
    fold = row.locator(".md-fold")
    button = row.get_by_role("button", name="Show more")
    await expect(fold).to_have_attribute("data-folded", "true")
    await expect(button).to_have_attribute("aria-expanded", "false")
    assert await clipped(fold)
    # Folded, the text is all there (for search and copying), only not all shown.
    await expect(fold).to_contain_text("line 60")

    await button.click()
    less = row.get_by_role("button", name="Show less")
    await expect(less).to_have_attribute("aria-expanded", "true")
    await expect(fold).to_have_attribute("data-folded", "false")
    assert not await clipped(fold)

    await less.click()
    await expect(row.get_by_role("button", name="Show more")).to_be_visible()
    assert await clipped(fold)

    # A short message has nothing to fold.
    await expect(bob.messages().nth(1).locator(".md-fold, .md-more")).to_have_count(0)
    bob.assert_no_errors()


async def clipped(fold: Locator) -> bool:
    """Whether the box shows less than its content."""
    return bool(await fold.evaluate("node => node.clientHeight + 1 < node.scrollHeight"))


async def dismiss(dialogs: list[str], dialog: Dialog) -> None:
    dialogs.append(f"{dialog.type}: {dialog.message}")
    await dialog.dismiss()
