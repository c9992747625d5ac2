#!/usr/bin/env bash
# Installs and starts the real components the integration tests use.
# usage: .ci/services.sh install | docker | slurm | all
# Idempotent: a component that is already running is left alone.
set -euo pipefail

log() { echo "[services] $*" >&2; }

# remove_stale PIDFILE: a daemon killed with SIGKILL leaves its pid file behind, and some
# (dockerd) refuse to start while it exists.
remove_stale() {
  local f=$1
  if [ -f "$f" ] && ! kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null; then
    log "removing stale $f"
    rm -f "$f"
  fi
}

# have CMD...: whether any of the commands is installed (root's PATH includes the sbin dirs).
have() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 && return 0; done
  return 1
}

# install_packages installs the Debian packages of the components whose commands are
# missing. It asks for commands rather than packages so that a machine that has them from
# elsewhere is left alone: GitHub's hosted images carry Docker as docker-ce (installing
# docker.io beside it conflicts) and Chrome instead of Debian's chromium.
install_packages() {
  local missing=()
  have docker || missing+=(docker.io)
  have slurmctld && have slurmd || missing+=(slurm-wlm)
  have munged || missing+=(munge)
  have shellcheck || missing+=(shellcheck)
  have chromium chromium-browser google-chrome || missing+=(chromium)
  have git || missing+=(git)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_docker() {
  if docker info >/dev/null 2>&1; then log "dockerd already up"; return; fi
  log "starting dockerd"
  remove_stale /var/run/docker.pid
  remove_stale /run/docker/containerd/containerd.pid
  # --bridge=none keeps containers off private addresses: tests use --network host on 127.0.0.1.
  nohup dockerd --bridge=none >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  log "dockerd did not come up"; tail -20 /tmp/dockerd.log >&2; return 1
}

start_slurm() {
  if timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    log "slurm already up"; return
  fi
  local host; host=$(hostname -s)
  grep -q "[[:space:]]$host\b" /etc/hosts || echo "127.0.0.1 $host" >>/etc/hosts
  mkdir -p /etc/slurm /run/munge /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /var/lib/slurm/fakegpu
  chown munge:munge /run/munge
  [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  # --force: start even when a killed munged left its socket behind.
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged --force
  for i in 0 1 2 3; do [ -e /var/lib/slurm/fakegpu/gpu$i ] || mknod /var/lib/slurm/fakegpu/gpu$i c 195 $i; done
  cat >/etc/slurm/gres.conf <<CONF
NodeName=$host Name=gpu Type=fake File=/var/lib/slurm/fakegpu/gpu[0-3]
CONF
  cat >/etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) Boards=1 SocketsPerBoard=1 CoresPerSocket=$(nproc) ThreadsPerCore=1 RealMemory=8000 Gres=gpu:fake:4 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  remove_stale /run/slurmctld.pid
  remove_stale /run/slurmd.pid
  pgrep -x slurmctld >/dev/null || slurmctld
  sleep 1
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 1 30); do
    timeout 5 sinfo -h -o %t 2>/dev/null | grep -qE 'idle|mix|alloc' && { log "slurm up"; return; }
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  log "slurm did not come up"; sinfo >&2 || true; tail -20 /var/log/slurm/slurmctld.log >&2 || true; return 1
}

case "${1:-all}" in
  install) install_packages ;;
  docker) start_docker ;;
  slurm) start_slurm ;;
  all) install_packages; start_docker; start_slurm ;;
  *) echo "usage: $0 install|docker|slurm|all" >&2; exit 2 ;;
esac
