"""The SQL store: typed SQLAlchemy 2 models, repositories, Alembic migrations."""
