"""A real WordPress for the plugin's test: Debian's ``wordpress`` copied into a temporary folder,
its own MariaDB (own data directory and socket, no grant tables: nothing but this test reaches
the socket), ``php -S`` on a free port, the two-file test theme, and the plugin from
``integrations/wordpress`` installed and activated through PHP (``wp.php``; no wp-cli).

``make wordpress`` (``scripts/wordpress-deps.sh``) installs the Debian packages.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import servers

HERE = Path(__file__).resolve().parent
PLUGIN = servers.ROOT / "integrations" / "wordpress"
WORDPRESS = Path("/usr/share/wordpress")
MARIADBD = "/usr/sbin/mariadbd"
# A fast, small server for a test: no grant tables, no TCP, InnoDB small and not durable.
MARIADB_ARGS = (
    "--no-defaults",
    "--skip-grant-tables",
    "--skip-networking",
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--skip-innodb-doublewrite",
    "--innodb-flush-log-at-trx-commit=0",
    "--performance-schema=OFF",
)


@dataclass
class Site:
    root: Path
    url: str
    admin_password: str
    subscriber_password: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def php(self, *args: str) -> str:
        """Run ``wp.php`` in the site's folder; its output."""
        env = {**os.environ, "WP_TEST_URL": self.url}
        done = subprocess.run(
            ["php", str(HERE / "wp.php"), *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"wp.php {args[0]} failed: {done.stderr or done.stdout}")
        return done.stdout

    def set_option(self, name: str, value: object) -> None:
        self.php("option", name, json.dumps(value))

    def option(self, name: str) -> object:
        return json.loads(self.php("get", name) or "null")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None and getattr(proc, "own_group", False):
                # php -S with workers: the workers are the server's children, in its process group.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            servers.stop(proc)


def missing() -> list[str]:
    """The commands this needs that the machine lacks (``make wordpress`` installs them)."""
    need = {"php": shutil.which("php"), "phpcs": shutil.which("phpcs"), "mariadbd": Path(MARIADBD).exists()}
    need["wordpress"] = (WORDPRESS / "wp-settings.php").exists()
    return [name for name, found in need.items() if not found]


def _mariadb(folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    data, socket = folder / "data", folder / "mysqld.sock"
    data.mkdir()
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [MARIADBD, *MARIADB_ARGS, *as_root, f"--datadir={data}", f"--socket={socket}", f"--log-error={folder}/db.log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            log = (folder / "db.log").read_text(errors="replace")[-2000:]
            servers.stop(proc)
            raise RuntimeError(f"MariaDB did not start:\n{log}")
        time.sleep(0.05)
    subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={socket}", "-uroot", "-e", "CREATE DATABASE wordpress"],
        check=True,
        capture_output=True,
    )
    return proc, socket


WP_CONFIG = """<?php
define('DB_NAME', 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:{socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_CONTENT_URL', '{url}/wp-content');
{keys}
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
// Nothing leaves the machine: WordPress.org update checks would only slow the admin pages down.
define('WP_HTTP_BLOCK_EXTERNAL', true);
$table_prefix = 'wp_';
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
"""
KEYS = ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT")
KEYS += ("LOGGED_IN_SALT", "NONCE_SALT")


def start(folder: Path, page_html: str) -> Site:
    """A WordPress site in ``folder`` with the plugin active and ``page_html`` as its front page."""
    lacking = missing()
    if lacking:
        raise RuntimeError(f"missing {', '.join(lacking)}: run `make wordpress` (Debian packages)")
    site_root = folder / "site"
    shutil.copytree(WORDPRESS, site_root, symlinks=False, ignore=shutil.ignore_patterns(".htaccess", "wp-config.php"))
    content = site_root / "wp-content"
    shutil.copytree(PLUGIN, content / "plugins" / "calltracking")
    shutil.copytree(HERE / "theme", content / "themes" / "ct-test")
    (content / "mu-plugins").mkdir()
    shutil.copy(HERE / "consent-stub.php", content / "mu-plugins" / "consent-stub.php")
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    db, socket = _mariadb(folder)
    keys = "\n".join(f"define('{k}', '{secrets.token_hex(24)}');" for k in KEYS)
    (site_root / "wp-config.php").write_text(WP_CONFIG.format(socket=socket, url=url, keys=keys))
    site = Site(site_root, url, secrets.token_urlsafe(12), secrets.token_urlsafe(12), procs=[db])
    try:
        site.php("install", url, site.admin_password)
        site.php("setup", page_html, site.subscriber_password)
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
        web = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(site_root)],
            cwd=site_root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        web.own_group = True  # type: ignore[attr-defined]
        site.procs.append(web)
        servers.wait_for_port(port, web)
    except BaseException:
        site.stop()
        raise
    return site
