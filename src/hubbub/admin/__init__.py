"""``hubbub admin``: the operator's commands, run beside a running server.

They never take the data dir's lock (``serve`` holds it): SQLite lets a second process read
and write a WAL database, PostgreSQL any number of clients. Nothing here appends room events
(on SQLite the server's writer counts each room's seqs itself), so a running server's view
of rooms stays true.

- ``cli``: the commands' flags and their one-line errors and exit codes;
- ``database``: one connection to the configured database, the same SQL on either engine
  (``sqlite_db``, ``postgres_db``), for what the ``Storage`` interface does not offer;
- ``accounts``: users, server admins and deactivation (every change goes through
  ``Storage``, as the server's own requests do);
- ``records`` and ``dump``: ``export`` and ``import``, newline-delimited JSON;
- ``backup``: SQLite's online backup, then the blobs;
- ``verify``: the database's own consistency.
"""
