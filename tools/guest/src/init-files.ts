/**
 * The guest's userland configuration: busybox init runs rcS (mounts, modules), then a shell on the
 * console and one on the first virtio console once that exists. `poweroff` in a shell ends the run.
 */

export const INITTAB = `::sysinit:/etc/init.d/rcS
::respawn:/bin/cttyhack /bin/sh -l
::respawn:/etc/init.d/hvc0-shell
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
`;

export function rcS(release: string): string {
  return `#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname plex86
while read -r module; do
  insmod "/lib/modules/${release}/$module" || echo "rcS: could not load $module"
done < /etc/modules
ip link set lo up
echo "plex86 guest ready: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU"
`;
}

/**
 * A shell on hvc0 once the virtio console driver has created it; idles otherwise. getty starts a
 * plain (not login) shell, so ENV makes it read the profile and show the same prompt as the console.
 */
export const HVC0_SHELL = `#!/bin/sh
while [ ! -c /dev/hvc0 ]; do sleep 5; done
export ENV=/etc/profile
exec /sbin/getty -n -l /bin/sh 0 hvc0 vt100
`;

export const PROFILE = `export PS1='plex86:\\w# '
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
`;
