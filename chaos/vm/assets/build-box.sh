#!/bin/sh
# Builds a libvirt Vagrant box from Debian packages, with no box registry (chaos.vm.box runs
# it; its hash is part of the box's cache key, so editing this file makes a new box).
#
#   build-box.sh OUT_DIR WORK_DIR DEB_CACHE MIRROR SUITE PUBKEY
#
# OUT_DIR gets box.img (qcow2, an unpartitioned ext4: no bootloader, the guest boots its own
# kernel directly), vmlinuz and initrd.img (libvirt passes them to QEMU). WORK_DIR is scratch
# (the root tree, the raw image), DEB_CACHE keeps the downloaded .debs for the next build.
set -eu
out=$1 work=$2 debs=$3 mirror=$4 suite=$5 pubkey=$6
root=$work/root

# minbase has no DHCP client (without isc-dhcp-client the guest never gets an address), no
# dbus (hostnamectl, which Vagrant uses to name the guest, needs it), no kmod (ip_vs).
packages=linux-image-amd64,systemd-sysv,udev,dbus,iproute2,ifupdown,isc-dhcp-client
packages=$packages,openssh-server,sudo,docker.io,iptables,ipvsadm,kmod,procps,busybox-static
packages=$packages,rsync,ca-certificates,less

cleanup() {
    # debootstrap mounts these in the target; a failed run must not leave them mounted
    for m in proc sys dev/pts dev; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true
    done
}
trap cleanup EXIT

rm -rf "$work"
mkdir -p "$work" "$out" "$debs"
echo "build-box: debootstrap $suite (minbase + ${packages})"
debootstrap --variant=minbase --cache-dir="$debs" --include="$packages" \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    echo "build-box: debootstrap failed (log: $work/debootstrap.log)" >&2
    exit 1
}
cleanup

echo "build-box: configuring the guest"
cat >"$root/etc/fstab" <<'EOF'
/dev/vda / ext4 defaults,noatime 0 1
EOF
# net.ifnames=0 on the kernel command line keeps the names eth0, eth1, ...; Vagrant adds its
# private_network interfaces between its own markers in this file.
cat >"$root/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp

source /etc/network/interfaces.d/*
EOF
echo swarm-chaos-box >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 swarm-chaos-box\n' >"$root/etc/hosts"
# the guest has no route to any registry or mirror: nothing may wait on one
printf 'UseDNS no\nGSSAPIAuthentication no\n' >"$root/etc/ssh/sshd_config.d/vagrant.conf"
# swarm's ingress mesh needs IPVS (Debian's kernel has it as a module)
printf 'ip_vs\nip_vs_rr\nbr_netfilter\noverlay\n' >"$root/etc/modules-load.d/swarm.conf"
mkdir -p "$root/etc/systemd/system/docker.service.d"
# as the lab's engines: a service update never tries a registry for an image already here
cat >"$root/etc/systemd/system/docker.service.d/chaos.conf" <<'EOF'
[Service]
Environment=DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
EOF
# A TCG guest must not spend its first minutes on timers, apt, or modules nothing here uses
# (each modprobe@ unit took seconds at boot).
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service \
    modprobe@dm_mod.service modprobe@loop.service systemd-pstore.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The guest's name and swarm address from the kernel command line (the Vagrantfile puts
# systemd.hostname=NAME chaos.ip=ADDR/LEN there): no ifdown/ifup round trips by Vagrant,
# and a rebooted guest has its address before dockerd starts.
cat >"$root/usr/local/sbin/chaos-guest-net" <<'SCRIPT'
#!/bin/sh
set -eu
addr= name=
for arg in $(cat /proc/cmdline); do
    case $arg in
        chaos.ip=*) addr=${arg#chaos.ip=} ;;
        systemd.hostname=*) name=${arg#systemd.hostname=} ;;
    esac
done
if [ -n "$name" ]; then
    sed -i "s/^127\.0\.1\.1 .*/127.0.1.1 $name/" /etc/hosts
fi
[ -n "$addr" ] || exit 0
ip link set eth1 up
ip addr replace "$addr" dev eth1
SCRIPT
chmod 0755 "$root/usr/local/sbin/chaos-guest-net"
cat >"$root/etc/systemd/system/chaos-guest-net.service" <<'UNIT'
[Unit]
Description=swarm-chaos: the guest's swarm address on eth1 (chaos.ip= on the command line)
BindsTo=sys-subsystem-net-devices-eth1.device
After=sys-subsystem-net-devices-eth1.device
Before=docker.service network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/chaos-guest-net

[Install]
WantedBy=multi-user.target
UNIT
# the Vagrantfile's provisioning sees this and does nothing: the box has it all
echo "swarm-chaos libvirt box" >"$root/etc/swarm-chaos-box"
# A small initrd: only what mounts the root disk (the full one took 20 s to boot under TCG).
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/chaos"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >>"$root/etc/initramfs-tools/modules"
mount -t proc proc "$root/proc"  # update-initramfs wants it; cleanup() unmounts it
chroot "$root" /bin/sh -eu <<'EOF'
useradd --create-home --shell /bin/bash --groups sudo,docker vagrant
echo 'vagrant:vagrant' | chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
systemctl enable ssh docker networking chaos-guest-net >/dev/null 2>&1 || true
update-initramfs -u -k all >/dev/null 2>&1
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log /etc/machine-id
: >/etc/machine-id
EOF
umount "$root/proc"
install -m 0600 "$pubkey" "$root/home/vagrant/.ssh/authorized_keys"
chroot "$root" chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys

echo "build-box: kernel, initrd and the disk image"
cp -L "$root/vmlinuz" "$out/vmlinuz"
cp -L "$root/initrd.img" "$out/initrd.img"
chmod 0644 "$out/vmlinuz" "$out/initrd.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.img" 8G
qemu-img convert -O qcow2 "$work/root.img" "$out/box.img"
rm -rf "$work"
echo "build-box: done"
