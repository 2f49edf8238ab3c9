"""A throwaway PostgreSQL server on loopback, for the tests and `python -m bench scale`.

    with ThrowawayPostgres() as pg:
        url = pg.new_database("grades")   # postgresql+psycopg2://grader:...@127.0.0.1:PORT/grades

The server lives in a temporary folder (data and socket), listens on 127.0.0.1 only, on a free
port, and is stopped and deleted on exit. The binaries come from PATH or from Debian's
/usr/lib/postgresql/<version>/bin (`apt-get install postgresql`). PostgreSQL refuses to run as
root: when the caller is root, the folder is handed to the `postgres` user and the server
commands run as that user through `runuser`.
"""
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from course_helpers import free_port

USER = "grader"


def bin_dir():
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    def version(path):
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: version(Path(p).parent))
    return Path(found[-1]).parent if found else None


class ThrowawayPostgres:
    def __init__(self, max_connections=100):
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (initdb not found on PATH or in "
                               "/usr/lib/postgresql/*/bin): apt-get install -y postgresql")
        self.max_connections = max_connections
        self.superuser_password = secrets.token_hex(8)
        self.password = secrets.token_hex(8)
        self.port = None
        self.folder = None
        self._roles = False

    # ------------------------------------------------------------------ start / stop
    def _run(self, *cmd):
        cmd = [str(self.bin / cmd[0]), *map(str, cmd[1:])]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.folder)
        if proc.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n"
                               + (log.read_text()[-2000:] if log.exists() else ""))
        return proc

    def start(self):
        # In /tmp itself: pytest's tmp_path sits under a root-only folder the postgres user can't enter.
        self.folder = Path(tempfile.mkdtemp(prefix="pg-throwaway-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        pwfile = self.folder / "pw"
        pwfile.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", self.folder / "data", "-U", "postgres", "--pwfile", pwfile,
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        for attempt in range(3):  # the free port may be taken between the check and the start
            self.port = free_port()
            options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                       f"-c max_connections={self.max_connections}")
            try:
                self._run("pg_ctl", "-D", self.folder / "data", "-l", self.folder / "server.log",
                          "-w", "-t", "30", "-o", options, "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def stop(self):
        if self.folder is None:
            return
        try:
            self._run("pg_ctl", "-D", self.folder / "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ databases
    def _admin(self, *statements):
        import psycopg2
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                password=self.superuser_password, dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def new_database(self, name, template=None):
        """Create a database owned by the grader user, empty or a copy of ``template`` (a database
        nobody is connected to); return its SQLAlchemy URL."""
        if not self._roles:
            self._admin(f"CREATE ROLE {USER} LOGIN PASSWORD '{self.password}'")
            self._roles = True
        self._admin(f"CREATE DATABASE {name} OWNER {USER}" + (f" TEMPLATE {template}" if template else ""))
        return f"postgresql+psycopg2://{USER}:{self.password}@127.0.0.1:{self.port}/{name}"
