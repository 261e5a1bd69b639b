"""How sure the front end is of a voice turn: Whisper's confidence in the words
(from the segments' mean log-probability and no-speech probability) and the
parser's confidence in the reading, combined. Below CONFIRM_BELOW the turn is
confirmed ("I heard: '...' — is that right?") before it reaches the graph."""
from __future__ import annotations

import math

CONFIRM_BELOW = 0.6


def whisper_confidence(avg_logprob: float, no_speech_prob: float) -> float:
    """exp(mean token log-probability), scaled by the chance that it is speech at all."""
    return max(0.0, min(1.0, math.exp(min(0.0, avg_logprob)) * (1.0 - no_speech_prob)))


def combined(whisper: float, parser: float) -> float:
    """The geometric mean: either being low pulls the turn below the bar."""
    return math.sqrt(max(0.0, whisper) * max(0.0, min(1.0, parser)))


def needs_confirmation(score: float, below: float = CONFIRM_BELOW) -> bool:
    return score < below
