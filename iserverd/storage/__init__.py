"""
Storage: the interfaces the server depends on, and their PostgreSQL implementation.
All SQL of the project lives in this package.
"""
