"""
ICQ over OSCAR (TCP): the pure codec.

Message flow (C{shared/protocol/oscar.md}).  Every connection starts with the
server's channel-1 hello.  At the authorization step the client either sends a
channel-1 frame with its screen name and roasted password, or a bare hello and
then family-0x17 SNACs: key request (17,06), key (17,07), MD5 login (17,02).
The server answers with the BOS address and a cookie (channel 4, resp. 17,03
and a channel-4 close).  The client reconnects, presents the cookie on channel
1, and the BOS start-up follows on channel 2: families (01,03), versions
(01,17/01,18 + 01,13), rate classes (01,06/01,07/01,08), rights requests of
families 2, 3, 4, 9 and 0x13, the roster (13,04/13,05 -> 13,06/13,0F),
capabilities (02,04), status (01,1E) and ready (01,02).  Then presence (03,0B/
03,0C), messages (04,06 -> 04,07, 04,0C), typing (04,14), offline messages
(15,02 0x003C, or 04,10), keep-alives on channel 5, and a channel-4 frame when
the server closes the session.

Modules: L{flap} frames and the stream splitter, L{snac} the SNAC header and
error SNAC, L{wire} big-endian fields and TLVs, L{userinfo} the user-info
block, L{auth} login frames and family 0x17, L{logincrypto} roasting and the
MD5 digests, and one module per family (L{service}, L{location}, L{buddy},
L{icbm}, L{privacy}, L{ssi}, L{icq}).  Decoders raise only
L{iserverd.codec.errors.MalformedPacket}; builders raise C{ValueError} for a
caller's out-of-range value.  No I/O, no clock, no random numbers.
"""
