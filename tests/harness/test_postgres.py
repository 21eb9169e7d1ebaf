"""The throwaway PostgreSQL server, for real."""

import os
import threading

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


def test_paused_server_hangs_new_and_open_connections_until_resumed(postgres_server):
    pg = postgres_server
    with psycopg.connect(pg.admin_url(), autocommit=True) as open_conn:
        open_conn.execute("SET statement_timeout = 0")
        pg.pause()
        try:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(pg.admin_url(), connect_timeout=1)
            # An open connection hangs too (its backend is frozen): a query
            # does not answer within a second.
            done = threading.Event()
            threading.Thread(
                target=lambda: (open_conn.execute("SELECT 1"), done.set()), daemon=True
            ).start()
            assert not done.wait(1.0), "an open connection was served during the pause"
        finally:
            pg.resume()
        assert done.wait(10), "the open connection did not come back after resume"


def test_servers_copied_from_the_initdb_template_are_independent():
    from harness import ports, procs
    from harness.postgres import PostgresServer

    # Not pytest's tmp_path: the postgres user must be able to reach it.
    tmp_path = procs.temp_root() / f"template-test-{os.getpid()}"
    a = PostgresServer.start_new(tmp_path / "a", ports.reserve_one())
    try:
        b = PostgresServer.start_new(tmp_path / "b", ports.reserve_one())
        try:
            a.create_database("only_in_a")
            with psycopg.connect(b.url("postgres"), autocommit=True) as c:
                names = {r[0] for r in c.execute("SELECT datname FROM pg_database")}
            assert "only_in_a" not in names
            assert a.datadir != b.datadir and (b.datadir / "PG_VERSION").exists()
        finally:
            b.close()
    finally:
        a.close()
