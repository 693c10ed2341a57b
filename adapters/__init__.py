"""Everything that touches the world: Zalo, PostgreSQL, workers, settings."""
