"""``agenttail server``: the team side that receives every developer's metric batches.

Installed as an extra (``pip install 'agenttail[server]'``) so the daemon's install stays lean.
"""
