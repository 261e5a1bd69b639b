"""LQMF Copilot: the conversation (graph, parser, REPL, voice) over tools/."""
