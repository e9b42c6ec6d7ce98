#!/usr/bin/env bash
# Debian's WordPress, PHP, MariaDB and phpcs for the WordPress plugin's test (make wordpress-test).
# Idempotent like `make chromium`: nothing happens when every command is already there.
set -euo pipefail
need=()
command -v php >/dev/null 2>&1 || need+=(php-cli)
php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' 2>/dev/null || need+=(php-mysql)
command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v phpcs >/dev/null 2>&1 || need+=(php-codesniffer)
[ -f /usr/share/wordpress/wp-settings.php ] || need+=(wordpress)
[ ${#need[@]} = 0 ] && exit 0
echo "installing Debian's ${need[*]} for the WordPress test"
sudo=$([ "$(id -u)" = 0 ] || echo sudo)
$sudo apt-get update -qq
# policy-rc.d keeps the package's own MariaDB service from starting: the test runs its own server.
# (A machine that already has one, as Docker images do, keeps its own.)
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
