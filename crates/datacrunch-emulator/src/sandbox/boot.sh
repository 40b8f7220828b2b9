# Boots one emulated node. Runs as the first process of fresh mount, UTS and PID
# namespaces (and a user namespace when the emulator is not root), started by
# `unshare`; ends by exec'ing sshd, which stays the namespace's init: when it dies the
# kernel kills every process of the node.
#
# $1 = node directory (its `fstab` mounts the node's root at `root`), $2 = hostname.
# The per-node sshd config is already in the disk at /etc/ssh/datacrunch-node.conf.
# Every process started here is paid for by every boot of every node: shell builtins
# where they do the job, one `mount` for the whole root.
set -eu
node=$1
name=$2

# The host key is made once, at first boot, and kept on the disk: known_hosts entries
# stay valid across stops, starts and emulator restarts. Asked of the disk itself,
# before the mounts: the node's /etc/ssh also shows the host's own keys.
host_key=
if [ -f "$node/disk/upper/etc/ssh/ssh_host_ed25519_key" ]; then host_key=kept; fi

# `unshare` made every mount private already: nothing mounted here reaches the host.
mount --all --fstab "$node/fstab"
# (sethostname(2): /proc/sys/kernel/hostname belongs to the host's root, whom a user
# namespace does not map.)
hostname "$name"

# The new root becomes / and the host's root, stacked under it, goes.
cd "$node/root"
pivot_root . .
umount -l .
cd /

# /run/sshd is a mount (see the fstab); /var/log and /var/lib/datacrunch-node are on
# the disk already.
if [ -z "$host_key" ]; then
  rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
  ssh-keygen -q -t ed25519 -N "" -C "$name" -f /etc/ssh/ssh_host_ed25519_key
fi
# The startup script runs once, at first boot, before sshd answers.
if [ -f /var/lib/datacrunch-node/startup-script ] && [ ! -e /var/lib/datacrunch-node/startup-script.done ]; then
  status=0
  /var/lib/datacrunch-node/startup-script >/var/log/startup-script.log 2>&1 </dev/null || status=$?
  echo "$status" >/var/lib/datacrunch-node/startup-script.done
fi
# The node directory on the command line tells operators (and tests) which node
# an sshd is.
exec /usr/sbin/sshd -D -e -f /etc/ssh/datacrunch-node.conf -o "SetEnv=DATACRUNCH_NODE=$node"
