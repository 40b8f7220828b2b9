# Boots one emulated node. Runs as the first process of fresh mount, UTS and PID
# namespaces (and a user namespace when the emulator is not root), started by
# `unshare`; ends by exec'ing sshd, which stays the namespace's init: when it dies the
# kernel kills every process of the node.
#
# $1 = node directory (disk/upper, disk/work, root), $2 = hostname.
# The per-node sshd config is already in the disk at /etc/ssh/datacrunch-node.conf.
set -eu
node=$1
name=$2
root=$node/root

# Nothing mounted here propagates back to the host.
mount --make-rprivate /
# The root filesystem: the host's / read-only below, the node's disk on top.
mount -t overlay overlay -o "lowerdir=/,upperdir=$node/disk/upper,workdir=$node/disk/work${OVERLAY_OPTS:-}" "$root"
# An overlay does not descend into the host's other mounts: give the node its own.
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
hostname "$name"

cd "$root"
mkdir -p .host
pivot_root . .host
cd /
umount -l /.host
rmdir /.host 2>/dev/null || true

mkdir -p /run/sshd /var/log /var/lib/datacrunch-node
chmod 0755 /run/sshd
# The startup script runs once, at first boot, before sshd answers.
if [ -f /var/lib/datacrunch-node/startup-script ] && [ ! -e /var/lib/datacrunch-node/startup-script.done ]; then
  chmod 0700 /var/lib/datacrunch-node/startup-script
  status=0
  /var/lib/datacrunch-node/startup-script >/var/log/startup-script.log 2>&1 </dev/null || status=$?
  echo "$status" >/var/lib/datacrunch-node/startup-script.done
fi
# The node directory on the command line tells operators (and tests) which node
# an sshd is.
exec /usr/sbin/sshd -D -e -f /etc/ssh/datacrunch-node.conf -o "SetEnv=DATACRUNCH_NODE=$node"
