"""Domain rules in plain Python: no Flask, no SQLAlchemy. Most tests live here."""
