"""
The semantic layer shared by every protocol version: sessions, presence,
message routing and the event processor's periodic work.
"""
