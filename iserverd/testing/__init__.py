"""
Protocol clients for tests, benchmarks and demonstrations: they speak to a
server over real UDP the way the old ICQ clients do.
"""
