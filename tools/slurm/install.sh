#!/usr/bin/env bash
# Installs what `make test-slurm` needs from Debian/Ubuntu when it is missing: Slurm's controller,
# node daemon and client commands (slurm-wlm), its accounting daemon (slurmdbd), MUNGE (Slurm's
# authentication) and MariaDB (slurmdbd's database). Idempotent: nothing is installed when every
# command is already there.
#
# The packages' install scripts would start system-wide daemons (munged with the packaged key,
# mariadb on the default socket); tools/slurm/cluster.sh starts its own private ones instead, so
# service starts are refused while installing (a policy-rc.d, removed afterwards, unless one was
# already in place).
set -euo pipefail

PACKAGES="slurm-wlm slurmdbd munge mariadb-server"
COMMANDS="slurmctld slurmd slurmdbd sbatch sacct sacctmgr sinfo scontrol munged mungekey mariadbd mariadb-install-db mariadb mariadb-admin"

# Debian puts the daemons in /usr/sbin, which is not on every PATH.
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for command in $COMMANDS; do
  command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]}, and there is no apt-get here: install Slurm (slurmctld, slurmd, slurmdbd," \
       "sacct), MUNGE and MariaDB with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing with apt needs root or sudo; run: apt-get install $PACKAGES" >&2
    exit 1
  fi
fi

echo "Missing: ${missing[*]}; installing $PACKAGES." >&2
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# tools/slurm/install.sh: no service starts while installing\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
cleanup() { [ "$own_policy" -eq 1 ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT

$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PACKAGES

for command in $COMMANDS; do
  command -v "$command" >/dev/null 2>&1 || { echo "error: $command still missing after installing $PACKAGES" >&2; exit 1; }
done
