#!/usr/bin/env bash
# A private single-node Slurm cluster on loopback, with job accounting, for `make test-slurm`.
#
#   bash tools/slurm/cluster.sh start           start it (stopping first one this script left running)
#   bash tools/slurm/cluster.sh stop            stop the daemons it started, and only those
#   bash tools/slurm/cluster.sh status          which of its daemons run; sinfo
#   bash tools/slurm/cluster.sh run CMD [ARG..] start, run CMD with SLURM_CONF set, stop (also when
#                                               CMD fails or is interrupted); exits with CMD's status
#
# Daemons: munged (its own key and socket), mariadbd (a fresh datadir, TCP on 127.0.0.1 only),
# slurmdbd (accounting, so that `sacct` knows every job), slurmctld and slurmd (one node with
# this machine's CPUs and memory, addressed as 127.0.0.1). They run as root (slurmd must), are
# started directly (no systemd) and write pid files, logs and state under one private folder,
# $SIMAGENTS_SLURM_DIR (default /tmp/simagents-slurm), wiped at each start. `stop` signals the
# pids recorded there, after checking that each is still the daemon it started. Clients find the
# cluster through SLURM_CONF=$SIMAGENTS_SLURM_DIR/etc/slurm.conf (`source .../env.sh`). Inside a
# job the executor plugin runs the rule through srun with every SLURM_* variable removed
# (SLURM_CONF too), so srun looks where Slurm's commands look without it: /etc/slurm/slurm.conf,
# then /run/slurm/conf/slurm.conf (where a configless slurmd links its copy of the configuration).
# The script links /run/slurm/conf to its etc/ folder for as long as the cluster runs; `stop`
# removes the link. A machine that already has either file is refused.
#
# Ports (TCP, on 127.0.0.1 only): $SIMAGENTS_SLURM_PORT (default 16817) for slurmctld and the
# next three for slurmd, slurmdbd and MariaDB. Slurm's own defaults (6817-6819, 3306) are left
# free for a real cluster. Every message between the daemons carries a credential signed with this
# start's random MUNGE key, which never leaves the state folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${SIMAGENTS_SLURM_DIR:-/tmp/simagents-slurm}"
PORT="${SIMAGENTS_SLURM_PORT:-16817}"
CTLD_PORT=$PORT
SLURMD_PORT=$((PORT + 1))
DBD_PORT=$((PORT + 2))
DB_PORT=$((PORT + 3))
CLUSTER=simagents
ACCOUNT=simagents
# In stop order: the node before the controller, the controller before accounting, and so on.
DAEMONS="slurmd slurmctld slurmdbd mariadbd munged"
export PATH="$PATH:/usr/sbin:/sbin"
export SLURM_CONF="$STATE/etc/slurm.conf"

say() { echo "[slurm-cluster] $*" >&2; }
die() { say "error: $*"; exit 1; }

pid_of() { # the pid this script recorded for daemon $1, if that process is still that daemon
  local file="$STATE/run/$1.pid" pid
  [ -s "$file" ] || return 1
  pid="$(tr -dc 0-9 <"$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  # comm is truncated to 15 characters; the daemons' names are shorter.
  [ "$(cat "/proc/$pid/comm")" = "$1" ] || return 1
  echo "$pid"
}

stop() {
  local daemon pid waited
  # Jobs still queued or running (an interrupted check) are cancelled first, so that no job
  # process outlives the node daemon. This SLURM_CONF reaches only this cluster.
  if pid_of slurmctld >/dev/null; then
    scancel --quiet --user="$(id -un)" 2>/dev/null || true
    waited=0
    while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $waited -lt 100 ]; do sleep 0.2; waited=$((waited + 1)); done
  fi
  for daemon in $DAEMONS; do
    pid="$(pid_of "$daemon")" || continue
    say "stopping $daemon (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || continue
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon" ]; do
      if [ $waited -ge 200 ]; then # 20 s
        say "$daemon (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    rm -f "$STATE/run/$daemon.pid"
  done
  # The link for srun inside the jobs, when it points here.
  if [ -L /run/slurm/conf ] && [[ "$(readlink /run/slurm/conf)" == "$STATE"/* ]]; then
    rm -f /run/slurm/conf
    rmdir /run/slurm 2>/dev/null || true
  fi
}

status() {
  local daemon pid running=0
  for daemon in $DAEMONS; do
    if pid="$(pid_of "$daemon")"; then echo "$daemon: running (pid $pid)"; running=$((running + 1)); else
      echo "$daemon: not running"; fi
  done
  if pid_of slurmctld >/dev/null; then sinfo -N -l || true; fi
  [ $running -gt 0 ]
}

wait_for() { # wait_for SECONDS WHAT COMMAND...: retry COMMAND until it succeeds, at most SECONDS
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  say "$what: ready"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fill() { # fill TEMPLATE OUT: the template with every @NAME@ replaced
  sed -e "s|@STATE@|$STATE|g" -e "s|@HOST@|$HOST|g" -e "s|@USER@|$USER_NAME|g" \
      -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DBD_PORT@|$DBD_PORT|g" \
      -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@DB_PASSWORD@|$DB_PASSWORD|g" \
      -e "s|@CPUS@|$CPUS|g" -e "s|@MEMORY_MB@|$MEMORY_MB|g" "$1" >"$2"
}

show_log() { # the end of a daemon's log, for an error message
  [ -f "$STATE/log/$1.log" ] && { say "last lines of $STATE/log/$1.log:"; tail -n 20 "$STATE/log/$1.log" >&2; }
  return 0
}

start() {
  [ "$(id -u)" -eq 0 ] || die "the test cluster runs as root (slurmd must); run as root or with sudo"
  local command started=$SECONDS
  for command in munged mungekey mariadbd mariadb-install-db mariadb mariadb-admin slurmdbd slurmctld slurmd \
                 sacctmgr sinfo; do
    command -v "$command" >/dev/null || die "$command not found: run bash tools/slurm/install.sh"
  done
  # Daemons a previous start of this script left behind (an interrupted run) go first.
  stop
  [ ! -e /etc/slurm/slurm.conf ] || die "/etc/slurm/slurm.conf exists (a Slurm installation of this machine):" \
    "srun inside the test jobs would read it instead of the test cluster's configuration"
  [ ! -e /run/slurm/conf ] && [ ! -L /run/slurm/conf ] || die "/run/slurm/conf exists (a configless slurmd of this" \
    "machine?): srun inside the test jobs would read it instead of the test cluster's configuration"
  local port
  for port in $CTLD_PORT $SLURMD_PORT $DBD_PORT $DB_PORT; do
    port_free "$port" || die "port $port on 127.0.0.1 is taken; set SIMAGENTS_SLURM_PORT to another base port"
  done

  HOST="$(hostname -s)"
  USER_NAME="$(id -un)"
  CPUS="$(nproc)"
  # The node's memory as slurmd itself measures it, so that the node is not drained for having
  # less than configured.
  MEMORY_MB="$(slurmd -C 2>/dev/null | tr " " "\n" | sed -n "s/^RealMemory=//p" || true)"
  [ -n "$MEMORY_MB" ] || MEMORY_MB=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 ))
  DB_PASSWORD="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

  rm -rf "$STATE"
  mkdir -p "$STATE"/{etc,run,log,munge,munge-socket,mysql,slurmctld,slurmd}
  # The key is readable by its owner alone; munged wants its socket's folder open to all (the
  # socket is how every local process asks for a credential).
  chmod 755 "$STATE" "$STATE/munge-socket"
  chmod 700 "$STATE/munge"
  fill "$HERE/slurm.conf.in" "$STATE/etc/slurm.conf"
  fill "$HERE/slurmdbd.conf.in" "$STATE/etc/slurmdbd.conf"
  chmod 600 "$STATE/etc/slurmdbd.conf" # slurmdbd refuses a readable one (it holds the password)
  # Slurm reads cgroup.conf beside slurm.conf when it exists; none of the plugins above uses it.
  cat >"$STATE/env.sh" <<EOF
# source this to use the test cluster's commands (sinfo, sbatch, sacct, ...)
export SLURM_CONF=$SLURM_CONF
export PATH="\$PATH:/usr/sbin:/sbin"
EOF
  say "state folder $STATE; node $HOST with $CPUS CPUs and $MEMORY_MB MB; ports $CTLD_PORT-$DB_PORT"

  # MUNGE: a fresh key; the socket in the private folder.
  mungekey --create --keyfile="$STATE/munge/munge.key" --bits=1024
  chmod 400 "$STATE/munge/munge.key"
  munged --key-file="$STATE/munge/munge.key" --socket="$STATE/munge-socket/munge.socket" \
         --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
         --seed-file="$STATE/munge/munged.seed" \
    || { show_log munged; die "munged did not start"; }
  wait_for 10 munged test -S "$STATE/munge-socket/munge.socket" || { show_log munged; die "munged did not start"; }

  # MariaDB: a new datadir; TCP on loopback for slurmdbd, a socket for the set-up below.
  local socket="$STATE/run/mariadb.sock"
  mariadb-install-db --no-defaults --datadir="$STATE/mysql" --user="$USER_NAME" \
    --auth-root-authentication-method=socket --skip-test-db >"$STATE/log/mariadb-install.log" 2>&1 \
    || { show_log mariadb-install; die "mariadb-install-db failed"; }
  # mariadbd does not detach itself: setsid puts it in its own session, away from this shell's
  # signals; it writes its own pid file.
  setsid mariadbd --no-defaults --datadir="$STATE/mysql" --user="$USER_NAME" --socket="$socket" \
    --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$STATE/run/mariadbd.pid" \
    --log-error="$STATE/log/mariadbd.log" --skip-log-bin --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
    </dev/null >/dev/null 2>&1 &
  wait_for 60 mariadbd mariadb-admin --no-defaults --socket="$socket" ping || { show_log mariadbd; die "mariadbd did not start"; }
  wait_for 10 "mariadbd pid file" pid_of mariadbd || die "mariadbd wrote no pid file"
  mariadb --no-defaults --socket="$socket" <<EOF
CREATE DATABASE slurm_acct_db;
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF

  # slurmdbd finds slurmdbd.conf beside $SLURM_CONF and detaches itself.
  slurmdbd || { show_log slurmdbd; die "slurmdbd did not start"; }
  wait_for 60 slurmdbd sacctmgr -n list cluster || { show_log slurmdbd; die "slurmdbd does not answer"; }
  # The cluster must exist in the accounting database before slurmctld registers with it; an
  # account with this user in it, so that jobs can be submitted with --account as on a real site.
  sacctmgr -i add cluster "$CLUSTER" >/dev/null
  sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="make test-slurm" Organization=simagents >/dev/null
  sacctmgr -i add user "$USER_NAME" Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null
  # (root already has the account "root", made with the cluster; the test's account is the default)
  sacctmgr -i modify user where name="$USER_NAME" set DefaultAccount="$ACCOUNT" >/dev/null

  slurmctld || { show_log slurmctld; die "slurmctld did not start"; }
  wait_for 60 slurmctld scontrol ping || { show_log slurmctld; die "slurmctld does not answer"; }
  # For srun inside the jobs (see the top of this file).
  mkdir -p /run/slurm
  ln -s "$STATE/etc" /run/slurm/conf
  slurmd -N "$HOST" || { show_log slurmd; die "slurmd did not start"; }
  node_idle() { [ "$(sinfo -h -n "$HOST" -o %t)" = idle ]; }
  wait_for 60 "node $HOST idle" node_idle || { sinfo -N -l >&2 || true; show_log slurmd; show_log slurmctld;
                                               die "node $HOST did not become idle"; }
  for daemon in $DAEMONS; do pid_of "$daemon" >/dev/null || die "$daemon is not running"; done
  sinfo -N -l >&2
  say "cluster up after $((SECONDS - started)) s"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  run)
    shift
    [ $# -gt 0 ] || die "run needs a command"
    trap 'stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start
    set +e
    "$@"
    code=$?
    set -e
    exit $code
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
