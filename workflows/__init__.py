"""State machines of dcol, declared with the ``transitions`` library (one module per workflow).

Nothing outside this package changes the state of a dossier.
"""
