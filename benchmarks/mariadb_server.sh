# Sourced by the MariaDB benchmarks: a private mariadbd in a temporary
# directory on 127.0.0.1 and a free port, with a database `bench` and a user
# `bench` (password `bench`).
#
#   start_mariadb WORK    # sets $port; the server's files under WORK
#   stop_mariadb WORK

start_mariadb() {
  local work=$1
  port=$((20000 + RANDOM % 10000))
  local user=(); [[ $(id -u) == 0 ]] && user=(--user=mysql)
  mkdir -p "$work/data"
  [[ $(id -u) == 0 ]] && chown -R mysql:mysql "$work"
  mariadb-install-db --no-defaults --datadir="$work/data" "${user[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$work/install.log" 2>&1
  /usr/sbin/mariadbd --no-defaults --datadir="$work/data" --socket="$work/mysqld.sock" \
    --port="$port" --bind-address=127.0.0.1 --pid-file="$work/mariadbd.pid" \
    --log-error="$work/error.log" --skip-log-bin --skip-name-resolve \
    --innodb-buffer-pool-size=256M --performance-schema=OFF \
    --character-set-server=utf8mb4 "${user[@]}" &
  for _ in $(seq 600); do
    mariadb-admin --no-defaults --socket="$work/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  mariadb --no-defaults --socket="$work/mysqld.sock" -uroot -e "
    CREATE DATABASE bench;
    CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
    GRANT ALL ON bench.* TO 'bench'@'127.0.0.1';"
}

stop_mariadb() {
  local work=$1
  if [[ -f $work/mariadbd.pid ]]; then
    kill "$(cat "$work/mariadbd.pid")" 2>/dev/null || true
    for _ in $(seq 100); do [[ -e $work/mysqld.sock ]] || break; sleep 0.1; done
  fi
}
