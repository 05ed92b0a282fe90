"""What each failure the doctor can see means, and what to change for it. Pure: observations
in, an ``Outcome`` out. The nginx lines are those of ``deploy/nginx/hubbub.conf``."""

from __future__ import annotations

from hubbub.doctor.report import Hop, Outcome, fail
from hubbub.doctor.target import Target

UPGRADE_LINES = (
    "nginx, in the `location /` that passes requests to hubbub:",
    "    proxy_http_version 1.1;",
    "    proxy_set_header Upgrade $http_upgrade;",
    "    proxy_set_header Connection $connection_upgrade;",
    "and once in the `http` block (conf.d/ files are read inside it):",
    "    map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
    "(another proxy or a CDN in front: turn its WebSocket support on)",
)

TIMEOUT_LINES = (
    "nginx, in `location /`: proxy_read_timeout 75s; proxy_send_timeout 75s;",
    "(a load balancer in front of nginx: raise its idle timeout above 60 s as well)",
)


def unreachable(check: str, target: Target, reason: str) -> Outcome:
    return fail(
        check,
        f"cannot connect to {target.netloc} (port {target.port}): {reason}",
        Hop.CLIENT_PROXY,
        "check the name's DNS record, the firewall, and that the proxy listens on that port",
    )


def bad_certificate(target: Target, reason: str) -> Outcome:
    return fail(
        "tls",
        f"the certificate of {target.host} is refused: {reason}",
        Hop.CLIENT_PROXY,
        "give the proxy a certificate for this name with its whole chain"
        " (nginx: ssl_certificate pointing at fullchain.pem, not cert.pem)",
    )


def upstream_down(check: str, status: int) -> Outcome:
    return fail(
        check,
        f"the proxy answered {status}: it cannot reach hubbub",
        Hop.PROXY_HUBBUB,
        "start hubbub (systemctl status 'hubbub*'), and make the proxy's upstream name the"
        " address and port hubbub listens on (hubbub serve --host/--port)",
    )


def not_hubbub(check: str, what: str) -> Outcome:
    return fail(
        check,
        f"{what}: that is not hubbub answering",
        Hop.PROXY_HUBBUB,
        "the proxy must pass every path of the site to hubbub"
        " (nginx: location / { proxy_pass http://hubbub; }, no path after the upstream)",
    )


def health_hidden(status: int) -> Outcome:
    """hubbub answers, but ``/healthz`` does not reach it through the proxy."""
    return fail(
        "http",
        f"this is hubbub, but GET /healthz answered {status}: the proxy keeps it from hubbub",
        Hop.PROXY_HUBBUB,
        "pass /healthz to hubbub: the browser client asks it to tell a proxy that breaks"
        " WebSockets from a server that is down",
        goes_on=True,
    )


def redirected(target: Target, location: str) -> Outcome:
    change = f"run the doctor on the URL people use: hubbub doctor {location}"
    return fail("http", f"{target.origin} redirects to {location}", Hop.CLIENT_PROXY, change)


def unhealthy(reason: str) -> Outcome:
    """``/healthz`` answered 503: hubbub runs, but its broker or its database fails."""
    broker = "broker" in reason.lower() or "redis" in reason.lower()
    return fail(
        "http",
        f"hubbub answers, but is unhealthy: {reason}",
        Hop.HUBBUB_BROKER if broker else Hop.HUBBUB_DATABASE,
        "see the nodes' journals (journalctl -u 'hubbub*'); check "
        + (
            "HUBBUB_BROKER and that Redis is up"
            if broker
            else "HUBBUB_STORAGE_URL and that the database is up"
        ),
        goes_on=True,
    )


def handshake_refused(check: str, status: int, target: Target) -> Outcome:
    """The WebSocket handshake got ``status`` instead of 101."""
    if status == 200:
        return fail(
            check,
            "the handshake got 200 instead of 101: hubbub saw a plain GET, so the proxy drops"
            " the Upgrade header",
            Hop.PROXY_HUBBUB,
            *UPGRADE_LINES,
        )
    if status in (400, 426):
        return fail(
            check,
            f"the handshake got {status} instead of 101: the proxy passes it on without"
            " `Connection: upgrade` (or over HTTP/1.0)",
            Hop.PROXY_HUBBUB,
            *UPGRADE_LINES,
        )
    if status in (502, 504):
        return fail(
            check,
            f"the handshake got {status} instead of 101: the proxy did not get hubbub's answer",
            Hop.PROXY_HUBBUB,
            *UPGRADE_LINES,
            "and check that the upstream names the address hubbub listens on",
        )
    if status == 429:
        return fail(
            check,
            "the handshake got 429: too many WebSockets from one address, which behind a"
            " proxy is every client's",
            Hop.PROXY_HUBBUB,
            "set HUBBUB_TRUSTED_PROXIES to the proxy's address (so hubbub counts clients, not"
            " the proxy), with proxy_set_header X-Forwarded-For $remote_addr;",
        )
    if status == 503:
        return fail(
            check,
            "the handshake got 503: hubbub has too many connections, or the proxy none to give",
            Hop.PROXY_HUBBUB,
            "see HUBBUB_MAX_CONNECTIONS, and the proxy's own connection limits",
        )
    return fail(
        check,
        f"the handshake got {status} instead of 101",
        Hop.PROXY_HUBBUB,
        f"the proxy must pass `GET {target.ws_url}` with its Upgrade headers to hubbub",
        *UPGRADE_LINES,
    )


def no_subprotocol() -> Outcome:
    return fail(
        "websocket",
        "the handshake got 101 without `Sec-WebSocket-Protocol: hubbub.v1`: the proxy drops"
        " the header, or answers the handshake itself",
        Hop.PROXY_HUBBUB,
        "pass the Sec-WebSocket-* headers through unchanged (nginx does by default:"
        " remove any proxy_set_header/more_clear_headers for them)",
        *UPGRADE_LINES,
    )


def origin_refused(target: Target, takes_http: bool) -> Outcome:
    """A handshake with the page's Origin and a cookie got 403: the page's own WebSocket
    would be refused. ``takes_http``: the same with ``http://`` was accepted."""
    listed = f"or accept the origin as it is: HUBBUB_ALLOWED_ORIGINS={target.origin}"
    if takes_http:
        return fail(
            "origin",
            f"hubbub refuses pages of {target.origin}: it takes its own scheme to be http,"
            " since the proxy does not say https in a way hubbub believes",
            Hop.PROXY_HUBBUB,
            "nginx, in `location /`: proxy_set_header X-Forwarded-Proto $scheme;",
            "and on every node: HUBBUB_TRUSTED_PROXIES=<the proxy's address, e.g. 127.0.0.1>",
            listed,
        )
    host = "$http_host" if target.explicit_port else "$host"
    return fail(
        "origin",
        f"hubbub refuses pages of {target.origin}: the Host it sees is not {target.netloc}",
        Hop.PROXY_HUBBUB,
        f"nginx, in `location /`: proxy_set_header Host {host};"
        + (" (with the port: $host drops it)" if target.explicit_port else ""),
        "and behind TLS: proxy_set_header X-Forwarded-Proto $scheme; with"
        " HUBBUB_TRUSTED_PROXIES=<the proxy's address>",
        listed,
    )


def idle_cut(after: float, code: int | None) -> Outcome:
    """An idle WebSocket ended after ``after`` seconds, with close ``code`` (None: no close
    frame, the TCP connection was cut)."""
    if code is None or code == 1006:
        return fail(
            "idle",
            f"an idle WebSocket was cut after {after:.0f} s without a close frame: a read"
            " timeout on the way is shorter than the time between hubbub's pings"
            " (HUBBUB_PING_INTERVAL, 20 s of silence by default)",
            Hop.PROXY_HUBBUB,
            *TIMEOUT_LINES,
        )
    if code == 1011:
        return fail(
            "idle",
            f"hubbub closed an idle WebSocket after {after:.0f} s with 1011 (ping timeout):"
            " its pings, or the answers, are held back on the way",
            Hop.PROXY_HUBBUB,
            "the proxy must pass WebSocket frames both ways as they come (no buffering);",
            *TIMEOUT_LINES,
        )
    if code == 1001:
        return fail(
            "idle",
            f"hubbub closed an idle WebSocket after {after:.0f} s with 1001: the node stopped",
            Hop.PROXY_HUBBUB,
            "run the doctor again once no node is restarting",
        )
    return fail(
        "idle",
        f"an idle WebSocket was closed after {after:.0f} s with code {code}",
        Hop.PROXY_HUBBUB,
        *TIMEOUT_LINES,
    )


def missed_messages(reached: int, total: int) -> Outcome:
    return fail(
        "messages",
        f"a message sent on one of {total} connections reached {reached} of them live: the"
        " others are on nodes that did not hear of it",
        Hop.HUBBUB_BROKER,
        "give every node the same HUBBUB_BROKER=redis://… (and channel), and see the nodes'"
        " journals for Redis errors",
    )


def token_refused(refused: int, total: int) -> Outcome:
    return fail(
        "messages",
        f"{refused} of {total} connections were refused the token the others accepted: the"
        " nodes do not share one database",
        Hop.HUBBUB_DATABASE,
        "give every node the same HUBBUB_STORAGE_URL=postgresql://…",
    )
