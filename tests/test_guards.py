"""
Tests for L{iserverd.core.guards}: the registration guard on its own (the
session guards are exercised through both handlers in L{tests.test_handlers}).
"""

from twisted.internet import task
from twisted.trial import unittest

from iserverd.core.guards import PENDING, REGISTRATION_INTERVAL, RegistrationGuard


class RegistrationGuardTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.guard = RegistrationGuard(self.clock, memory=3)

    def test_answer_remembered_for_the_interval(self):
        """A request's answer is recalled until the interval has passed; pending until known."""
        self.assertIsNone(self.guard.recall("a"))
        self.guard.start("a", "192.0.2.1")
        self.assertIs(self.guard.recall("a"), PENDING)
        self.guard.answered("a", "welcome")
        self.clock.advance(REGISTRATION_INTERVAL - 1)
        self.assertEqual(self.guard.recall("a"), "welcome")
        self.clock.advance(1)
        self.assertIsNone(self.guard.recall("a"))

    def test_one_registration_a_minute(self):
        """An address that registered is too soon until the interval has passed; others are not."""
        self.guard.start("a", "192.0.2.1")
        self.assertTrue(self.guard.too_soon("192.0.2.1"))
        self.assertFalse(self.guard.too_soon("192.0.2.2"))
        self.clock.advance(REGISTRATION_INTERVAL)
        self.guard.recall("b")
        self.assertFalse(self.guard.too_soon("192.0.2.1"))

    def test_failed_forgets(self):
        """A registration the database could not take counts as never tried."""
        self.guard.start("a", "192.0.2.1")
        self.guard.failed("a", "192.0.2.1")
        self.assertIsNone(self.guard.recall("a"))
        self.assertFalse(self.guard.too_soon("192.0.2.1"))

    def test_bounded(self):
        """At most C{memory} answers and addresses are kept, the oldest forgotten first."""
        for i in range(5):
            self.guard.start(i, "192.0.2.%d" % i)
        self.guard.recall("x")
        self.assertEqual([self.guard.recall(i) for i in range(5)], [None, None, PENDING, PENDING, PENDING])
        self.assertFalse(self.guard.too_soon("192.0.2.0"))
        self.assertTrue(self.guard.too_soon("192.0.2.4"))
