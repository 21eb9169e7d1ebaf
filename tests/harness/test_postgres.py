"""The throwaway PostgreSQL server, for real."""

import psycopg
import pytest


def test_fresh_database_per_call_and_data_survives_an_immediate_restart(postgres_server):
    pg = postgres_server
    name = pg.create_database("t_pg_restart")
    try:
        with psycopg.connect(pg.url(name), autocommit=True) as c:
            c.execute("CREATE TABLE t (x int)")
            c.execute("INSERT INTO t VALUES (42)")
        pg.stop_immediate()
        assert not pg.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.url(name), connect_timeout=2)
        pg.start()
        with psycopg.connect(pg.url(name)) as c:
            assert c.execute("SELECT x FROM t").fetchall() == [(42,)]
        # create_database always gives an empty database
        pg.create_database(name)
        with psycopg.connect(pg.url(name)) as c, pytest.raises(psycopg.errors.UndefinedTable):
            c.execute("SELECT x FROM t")
    finally:
        pg.drop_database(name)


def test_paused_server_hangs_connections_until_resumed(postgres_server):
    pg = postgres_server
    with psycopg.connect(pg.admin_url(), autocommit=True) as open_conn:
        pg.pause()
        try:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(pg.admin_url(), connect_timeout=1)
        finally:
            pg.resume()
        assert open_conn.execute("SELECT 1").fetchone() == (1,)
