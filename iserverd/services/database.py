"""
Opening the database: the embedded cluster or an external DSN, the pool, the
schema upgrade.
"""

from twisted.internet import defer, threads

from iserverd.services.embedded import EmbeddedPostgres
from iserverd.storage.postgres import PostgresStorage
from iserverd.storage.sealing import PasswordSealer, load_key


class Database:
    """
    Owns the storage and, with no DSN configured, the embedded cluster behind it.

    @ivar storage: the L{PostgresStorage} once L{open} has fired.
    """

    def __init__(self, config, reactor):
        self.config = config
        self.reactor = reactor
        self.embedded = None if config.database else EmbeddedPostgres(config.data_dir)
        self.storage = None

    @defer.inlineCallbacks
    def open(self):
        """
        @return: Deferred firing with the opened storage; on failure everything
            started here is stopped again.
        @raise iserverd.storage.sealing.KeyFileError: the OSCAR key file cannot
            be read or created (checked first, before any database starts).
        """
        sealer = PasswordSealer(load_key(self.config.oscar_key_path))
        dsn = self.config.database
        if self.embedded is not None:
            dsn = yield threads.deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), self.embedded.start
            )
        storage = PostgresStorage(self.reactor, dsn, self.config.db_pool_size, sealer)
        try:
            yield storage.open()
        except BaseException:
            yield self._stop_embedded()
            raise
        self.storage = storage
        return storage

    @defer.inlineCallbacks
    def close(self):
        if self.storage is not None:
            self.storage.close()
            self.storage = None
        yield self._stop_embedded()

    def _stop_embedded(self):
        if self.embedded is None:
            return defer.succeed(None)
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self.embedded.stop)
