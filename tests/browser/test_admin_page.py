"""The server admin page: offered to server admins only; its users table makes admins and
deactivates (after a confirmation), which signs the user's open page out at once; its audit
log shows what was done, newest first. Names and display names are shown as text."""

from __future__ import annotations

from chatpage import ChatPage, new_context, sign_in_over_http
from playwright.async_api import Browser, Locator, expect
from support import RunningServer

HOSTILE = '<img src=x onerror="document.title=1">'


def user_row(page: ChatPage, name: str) -> Locator:
    return page.page.locator(f'#admin-users tr[data-user="{name}"]')


async def test_an_admin_promotes_and_deactivates_and_reads_the_audit_log(
    server: RunningServer, browser: Browser
) -> None:
    contexts = {}
    for name in ("alice", "bob", "carol"):  # alice first: the server's first admin
        contexts[name] = await new_context(browser)
        await sign_in_over_http(contexts[name], server.url, name)
    changed = await contexts["bob"].request.patch(
        f"{server.url}/api/v1/me", data={"display_name": HOSTILE}
    )
    assert changed.ok, await changed.text()
    for name, call, data in (("alice", "", {"name": "den"}), ("bob", "/den/join", None)):
        made = await contexts[name].request.post(f"{server.url}/api/v1/rooms{call}", data=data)
        assert made.ok, await made.text()
    alice = await ChatPage.open(contexts["alice"], server.url)
    bob = await ChatPage.open(contexts["bob"], server.url)
    for page in (alice, bob):
        await page.wait_online()
    await expect(alice.page.locator("#open-admin")).to_be_visible()
    await expect(bob.page.locator("#open-admin")).to_have_count(0)  # not an admin

    await alice.page.click("#open-admin")
    await expect(alice.page.locator("#admin-tab-users")).to_have_attribute("aria-selected", "true")
    await expect(alice.page.locator("#admin-users tbody tr")).to_have_count(3)
    await expect(user_row(alice, "alice").locator(".admin-role")).to_have_text("admin")
    await expect(user_row(alice, "bob").locator(".admin-display")).to_have_text(HOSTILE)
    assert await alice.page.locator("#admin-users img").count() == 0

    # carol is made an admin; bob is deactivated, once confirmed, and his page signs out.
    await user_row(alice, "carol").get_by_role("button", name="Promote").click()
    await expect(user_row(alice, "carol").locator(".admin-role")).to_have_text("admin")
    await user_row(alice, "bob").get_by_role("button", name="Deactivate").click()
    await expect(user_row(alice, "bob").locator(".confirm-text")).to_contain_text("Deactivate bob?")
    await expect(user_row(alice, "bob").locator(".admin-state")).to_have_text("active")
    await user_row(alice, "bob").locator("button.confirm").click()
    await expect(user_row(alice, "bob").locator(".admin-state")).to_have_text("deactivated")
    await expect(bob.page.locator("#auth-view")).to_be_visible()
    await bob.sign_in("bob")
    await expect(bob.page.locator("#auth-error")).to_contain_text("deactivated")

    # Nobody deactivates themselves: the refusal is shown, the row stays as it was.
    await user_row(alice, "alice").get_by_role("button", name="Deactivate").click()
    await user_row(alice, "alice").locator("button.confirm").click()
    await expect(alice.page.locator(".admin-users .form-error")).to_contain_text(
        "cannot deactivate your own account"
    )
    await expect(user_row(alice, "alice").locator(".admin-state")).to_have_text("active")

    await alice.page.click("#admin-tab-audit")
    lines = alice.page.locator("#admin-audit li .audit-text")
    await expect(lines).to_have_text(
        ["alice: deactivate bob server-wide", "alice: promote carol server-wide"]
    )
    await user_row_absent(alice)
    # The room's member list says so too.
    await alice.page.get_by_role("button", name="Close").click()
    await alice.open_room("den")
    await alice.page.get_by_role("button", name="Members", exact=True).click()
    bob_entry = alice.page.locator('#member-panel li[data-user="bob"]')
    await expect(bob_entry.locator(".member-role")).to_have_text("deactivated")
    await alice.page.click("#open-admin")
    # Reactivated from the page, bob signs in again.
    await alice.page.click("#admin-tab-users")
    await user_row(alice, "bob").get_by_role("button", name="Reactivate").click()
    await expect(user_row(alice, "bob").locator(".admin-state")).to_have_text("active")
    await bob.sign_in("bob")
    await bob.wait_online()
    alice.assert_no_errors()


async def user_row_absent(page: ChatPage) -> None:
    """The users table is not on screen while another section is."""
    await expect(page.page.locator("#admin-users")).to_have_count(0)
