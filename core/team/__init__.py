"""Team mode: several desks share one journal and take close leases in PostgreSQL."""
