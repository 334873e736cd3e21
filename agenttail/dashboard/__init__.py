"""The local web dashboard: a page on 127.0.0.1 fed by the reports' JSON (``server.py``),
served by the running daemon or by ``agenttail dashboard`` itself (``launch.py``)."""
