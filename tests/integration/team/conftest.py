from tests.helpers.postgres import team_cluster, team_db

__all__ = ["team_cluster", "team_db"]
