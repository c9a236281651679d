"""`make scale-up` / `make scale-down`: the assistant as several Rasa servers and
action servers behind nginx, sharing conversations through PostgreSQL (Rasa's SQL
tracker store) and a Redis lock store, all on loopback with data in one folder.

Every setting is an environment variable (`Settings.from_env` lists them with
their defaults); passwords not given are generated once per folder and kept there.

Usage: python -m deploy.stack up|down|status
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Dict, List, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
READY_TIMEOUT = 180
SECRETS = ("DB_PASSWORD", "REDIS_PASSWORD")
# Debian installs PostgreSQL's server programs here, outside PATH.
POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@dataclass(frozen=True)
class Settings:
    folder: Path
    rasa_ports: Tuple[int, ...] = (5105, 5106)  # one Rasa replica on each
    actions_ports: Tuple[int, ...] = (5155, 5156)  # one action server on each
    balancer_port: int = 8088
    actions_balancer_port: int = 8089
    db_port: int = 5433
    redis_port: int = 6380
    db_name: str = "rasa"
    db_user: str = "rasa"
    lock_lifetime: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """SCALE_DIR, RASA_REPLICAS and RASA_BASE_PORT (the replicas take consecutive
        ports), ACTIONS_REPLICAS and ACTIONS_BASE_PORT (likewise), BALANCER_PORT,
        ACTIONS_BALANCER_PORT, DB_PORT, REDIS_PORT, DB_NAME, DB_USER,
        TICKET_LOCK_LIFETIME; unset ones keep the defaults above."""
        folder = env.get("SCALE_DIR") or str(Path(tempfile.gettempdir()) / "microneedling-scale")
        names = {
            "balancer_port": "BALANCER_PORT",
            "actions_balancer_port": "ACTIONS_BALANCER_PORT",
            "db_port": "DB_PORT",
            "redis_port": "REDIS_PORT",
            "lock_lifetime": "TICKET_LOCK_LIFETIME",
        }
        given: Dict[str, Any] = {k: int(env[name]) for k, name in names.items() if env.get(name)}
        given.update({k: env[k.upper()] for k in ("db_name", "db_user") if env.get(k.upper())})

        def ports(kind: str, base: int) -> Tuple[int, ...]:
            first = int(env.get(f"{kind}_BASE_PORT") or base)
            return tuple(range(first, first + int(env.get(f"{kind}_REPLICAS") or 2)))

        return cls(
            Path(folder),
            rasa_ports=ports("RASA", 5105),
            actions_ports=ports("ACTIONS", 5155),
            **given,
        )

    @property
    def url(self) -> str:
        """The web page and the REST channel, through the balancer."""
        return f"http://127.0.0.1:{self.balancer_port}"


@dataclass
class Stack:
    """The servers of one folder: started by `up`, found again from the folder's
    state file by `down` (another process) or by the tests."""

    settings: Settings
    model: Optional[Path] = None  # default: the newest in models/
    extra_env: Dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.settings.folder

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    # --- the whole stack ---

    def up(self) -> None:
        if self.is_up():
            raise SystemExit(f"Already running (see {self.state_file}); `make scale-down` first.")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # PostgreSQL's user must reach its data in it
        (self.folder / "logs").mkdir(exist_ok=True)
        self._write_state({})
        self.start_postgres()
        self.start_redis()
        for port in self.settings.actions_ports:
            self.start_actions(port)
        for port in self.settings.rasa_ports:
            self.start_rasa(port)
        self.start_balancer()
        for port in self.settings.actions_ports:
            wait_for(
                f"http://127.0.0.1:{port}/health",
                f"action server :{port}",
                self.log("actions", port),
            )
        for port in self.settings.rasa_ports:
            wait_for(f"http://127.0.0.1:{port}/", f"Rasa server :{port}", self.log("rasa", port))
        wait_for(f"{self.settings.url}/config.js", "nginx", self.folder / "nginx-error.log")

    def down(self) -> None:
        stop(*reversed(list(self._read_state().values())))
        if (self.folder / "postgres" / "postmaster.pid").exists():
            self.stop_postgres()
        if self.state_file.exists():
            self.state_file.unlink()

    def is_up(self) -> bool:
        return any(alive(pid) for pid in self._read_state().values())

    def status(self) -> Dict[str, bool]:
        return {name: alive(pid) for name, pid in self._read_state().items()}

    # --- one server at a time (the tests stop and restart them) ---

    def env(self) -> Dict[str, str]:
        """What every replica is configured with (deploy/endpoints.yml reads it)."""
        settings = self.settings
        return {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(settings.db_port),
            "DB_NAME": settings.db_name,
            "DB_USER": settings.db_user,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(settings.redis_port),
            "REDIS_DB": os.environ.get("REDIS_DB", "0"),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{settings.actions_balancer_port}/webhook",
            "TICKET_LOCK_LIFETIME": str(settings.lock_lifetime),
            **self.secrets(),
            **self.extra_env,
        }

    def secrets(self) -> Dict[str, str]:
        """Passwords from the environment, or generated once and kept in the folder."""
        path = self.folder / "secrets.json"
        kept = json.loads(path.read_text()) if path.exists() else {}
        values = {name: os.environ.get(name) or kept.get(name) for name in SECRETS}
        for name, value in values.items():
            values[name] = value or secrets.token_urlsafe(24)
        if values != kept:
            path.touch(mode=0o600)
            path.write_text(json.dumps(values))
        return values  # type: ignore[return-value]

    def start_postgres(self) -> None:
        data = self.folder / "postgres"
        password = self.secrets()["DB_PASSWORD"]
        if not data.exists():
            data.mkdir(mode=0o700)
            password_file = self.folder / "db-password"
            password_file.touch(mode=0o600)
            password_file.write_text(password)
            self._as_postgres_user(data, password_file)
            self._postgres(
                "initdb", "-D", str(data), "-U", self.settings.db_user,
                "--pwfile", str(password_file), "--auth", "scram-sha-256",
            )  # fmt: skip
            password_file.unlink()
        options = f"-p {self.settings.db_port} -k {data} -c listen_addresses=127.0.0.1"
        log = self.log("postgres")
        log.touch()
        self._as_postgres_user(log)
        self._postgres("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        self._create_database(password)

    def stop_postgres(self) -> None:
        self._postgres("pg_ctl", "-D", str(self.folder / "postgres"), "-m", "fast", "-w", "stop")

    def start_redis(self) -> None:
        """Settings in a file of its own: a password on the command line shows in `ps`."""
        (self.folder / "redis").mkdir(exist_ok=True)
        password = self.secrets()["REDIS_PASSWORD"]
        config = self.folder / "redis.conf"
        config.touch(mode=0o600)
        config.write_text(
            f"bind 127.0.0.1\nport {self.settings.redis_port}\nrequirepass {json.dumps(password)}\n"
            f'save ""\nappendonly no\ndir {self.folder / "redis"}\n'
        )
        self._start("redis", ["redis-server", str(config)], self.log("redis"))
        wait_for_redis(self.settings.redis_port, password)

    def start_actions(self, port: int) -> None:
        command = [RASA, "run", "actions", "--port", str(port)]
        self._start(f"actions-{port}", command, self.log("actions", port))

    def start_rasa(self, port: int) -> None:
        command = [RASA, "run", "--endpoints", str(ROOT / "deploy" / "endpoints.yml")]
        command += ["--credentials", str(ROOT / "credentials.yml")]
        command += ["--model", str(self.model or newest_model())]
        command += ["--interface", "127.0.0.1", "--port", str(port)]
        self._start(f"rasa-{port}", command, self.log("rasa", port))

    def start_balancer(self) -> None:
        """nginx serves a copy of the page (its workers need not read the clone)."""
        web = self.folder / "web"
        if web.exists():
            shutil.rmtree(web)
        shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules"))
        bundle = Path("node_modules") / "deep-chat" / "dist"
        shutil.copytree(ROOT / "web" / bundle, web / bundle)
        for path in [web, *web.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        config = self.folder / "nginx.conf"
        config.write_text(self.nginx_config())
        command = ["nginx", "-c", str(config), "-p", str(self.folder), "-g", "daemon off;"]
        self._start("nginx", command, self.log("nginx"))

    def nginx_config(self) -> str:
        def servers(ports: Tuple[int, ...]) -> str:
            return "\n".join(
                f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports
            )

        template = Template((ROOT / "deploy" / "nginx.conf").read_text())
        return template.safe_substitute(
            STATE=str(self.folder),
            RASA_SERVERS=servers(self.settings.rasa_ports),
            ACTIONS_SERVERS=servers(self.settings.actions_ports),
            BALANCER_PORT=self.settings.balancer_port,
            ACTIONS_BALANCER_PORT=self.settings.actions_balancer_port,
        )

    def pid(self, name: str) -> int:
        return self._read_state()[name]

    def log(self, name: str, port: Optional[int] = None) -> Path:
        return self.folder / "logs" / (f"{name}-{port}.log" if port else f"{name}.log")

    # --- plumbing ---

    def _start(self, name: str, command: List[str], log: Path) -> None:
        """Starts a server in its own session, so it outlives `make scale-up`."""
        with log.open("a") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._write_state({**self._read_state(), name: process.pid})

    def _postgres(self, program: str, *args: str) -> None:
        if not POSTGRES_BIN:
            raise SystemExit("PostgreSQL is not installed (make scale-up installs it).")
        command = [str(POSTGRES_BIN[-1] / program), *args]
        # PostgreSQL refuses to run as root: then it runs as Debian's postgres user.
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, cwd="/", stdout=subprocess.DEVNULL)

    def _as_postgres_user(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _create_database(self, password: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1",
            port=self.settings.db_port,
            user=self.settings.db_user,
            password=password,
            dbname="postgres",
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.db_name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{self.settings.db_name}"')
        connection.close()

    def _read_state(self) -> Dict[str, int]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def _write_state(self, state: Dict[str, int]) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("No trained model in models/: run `make train`.")
    return models[-1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of this process that ended is a zombie until reaped.
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def stop(*pids: int, timeout: float = 30) -> None:
    """SIGTERM to all at once (each takes a few seconds to finish), SIGKILL if late."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def wait_for(url: str, name: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    tail = log.read_text()[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"{name} did not answer within {READY_TIMEOUT} s; {log} ends with:\n{tail}")


def wait_for_redis(port: int, password: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password=password)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    stack = Stack(Settings.from_env())
    command = parser.parse_args().command
    if command == "up":
        try:
            stack.up()
        except BaseException:
            stack.down()
            raise
        settings = stack.settings
        replicas = f"{len(settings.rasa_ports)} Rasa servers, {len(settings.actions_ports)} action"
        print(f"Up: {replicas} servers.")
        print(f"  Chat with the assistant: {settings.url}  (logs: {stack.folder / 'logs'})")
        print("  `make scale-down` stops everything.")
    elif command == "down":
        stack.down()
        print(f"Stopped; data kept in {stack.folder}.")
    else:
        for name, running in stack.status().items():
            print(f"{name:16} {'running' if running else 'stopped'}")


if __name__ == "__main__":
    main()
