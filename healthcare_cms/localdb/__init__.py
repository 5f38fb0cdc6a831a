"""The embedded PostgreSQL server used when DATABASE_URL is unset.

`server` starts and stops it; `base` is a Django database backend that starts it on first use.
"""
