"""Advice on what to run where: the machine asked about (``devices``), the
memory a (model, quant type, context) needs there (``memfit``), whether it
will work at all (``oracle``), how fast, how big and how lossy it will be
(``predict``, learning from the store's runs), the user's stated preference
(``prefs``), and the ranked answer (``rank``). Nothing here imports copilot/."""
