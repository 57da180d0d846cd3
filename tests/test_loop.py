"""
Tests for L{iserverd.services.loop}: a failing step is logged and the loop
goes on, on the injected clock.
"""

from twisted.internet import task
from twisted.trial import unittest

from iserverd.services.loop import GuardedLoop


class GuardedLoopTests(unittest.TestCase):
    def test_failure_logged_loop_goes_on(self):
        """A step that raises is logged once per failure; the next interval runs it again."""
        clock = task.Clock()
        calls = []

        def step():
            calls.append(clock.seconds())
            if len(calls) == 1:
                raise ValueError("boom")

        loop = GuardedLoop(clock, 1.0, step, "test step")
        loop.start()
        self.assertEqual(calls, [])
        clock.advance(1)
        clock.advance(1)
        self.assertEqual(calls, [1.0, 2.0])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertTrue(loop.running)
        d = loop.stop()
        self.assertFalse(loop.running)
        self.assertIsNotNone(self.successResultOf(d))

    def test_stop_before_start(self):
        """Stopping a loop that never started is harmless."""
        self.assertIsNone(GuardedLoop(task.Clock(), 1.0, lambda: None, "idle").stop())
