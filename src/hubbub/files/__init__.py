"""Files: their blobs (``store``), what they are (``detect``, ``images``), how uploads arrive
(``uploads``) and how what nothing refers to goes (``sweep``)."""
