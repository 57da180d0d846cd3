"""
Per-version packet handlers: decode, check the session, acknowledge, and hand
the meaning to the shared L{iserverd.core.network.Network}.
"""
