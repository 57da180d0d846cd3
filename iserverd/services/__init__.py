"""
The long-running parts of the server, as Twisted services.
"""
