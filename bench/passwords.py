"""
How many password verifications per second one core does with the shipped cost.

Run: python bench/passwords.py
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from iserverd.storage.passwords import ITERATIONS, hash_password, verify_password  # noqa: E402


def main(seconds=2.0):
    stored = hash_password(b"secret")
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        verify_password(b"secret", stored)
        count += 1
    elapsed = time.perf_counter() - start
    print("PBKDF2-SHA256, %d iterations: %.0f verifications/s on one core (%.2f ms each)"
          % (ITERATIONS, count / elapsed, 1000 * elapsed / count))


if __name__ == "__main__":
    main()
