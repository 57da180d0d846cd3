"""
Per-protocol speakers: each builds its protocol's server packets for the
events the shared layer produces (L{iserverd.core.interfaces.ISpeaker}).

The network holds one speaker per session and calls down into it; a speaker
knows its codec and nothing above it.  A new protocol adds a speaker here,
beside its codec and its handler.
"""


def split_text(text, size):
    """Cut a text into pieces of at most C{size} bytes (at least one piece)."""
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]
