"""``hubbub chat``, the terminal client (docs/chat.md): Textual on top of ``hubbub.client``.

``state`` (rooms, unread counts, timelines), ``commands`` (the composer's ``/commands``) and
``render`` are pure; ``config`` keeps the token and the outbox in the user's config dir;
``login`` signs in over HTTP; ``screens`` and ``app`` are the Textual part.
"""
