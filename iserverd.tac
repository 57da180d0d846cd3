"""
Deployment with C{twistd -y iserverd.tac}.

Reads the config file named by C{ISERVERD_CONFIG} (if set); otherwise the
defaults apply (embedded PostgreSQL in ./iserverd-data, UDP port 4000).
"""

import os
import sys

from twisted.application import service
from twisted.internet import reactor

from iserverd import config, tap

try:
    settings = config.load(os.environ.get("ISERVERD_CONFIG") or None)
except config.ConfigError as e:
    sys.exit("iserverd: %s" % (e,))

application = service.Application("iserverd")
tap.makeService(settings, reactor).setServiceParent(application)
