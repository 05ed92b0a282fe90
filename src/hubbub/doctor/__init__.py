"""``hubbub doctor``: a deployment checked from outside, as its clients see it.

"New messages only appear after a refresh" is nearly always a reverse proxy that breaks the
WebSocket upgrade or cuts idle sockets. The doctor walks the way a browser takes (HTTP, TLS,
the upgrade, the Origin, pings, an idle socket, and a message through every node) and says
for each failure which hop is at fault and what to change there.

``target`` (the URL), ``report`` (outcomes and how they print) and ``advice`` (what each
failure means) are pure; ``sockets``, ``checks`` and ``fanout`` talk to the deployment;
``command`` is the subcommand.
"""

from hubbub.doctor.command import add_parser, main, run

__all__ = ["add_parser", "main", "run"]
