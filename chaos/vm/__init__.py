"""Real virtual machines for the ``vagrant`` platform on libvirt (QEMU, with KVM or TCG).

- :mod:`chaos.vm.box`: the guests' box, built from Debian packages (no box registry), cached;
- :mod:`chaos.vm.libvirt`: libvirtd (the service manager's, or one the tool starts inside a
  network namespace of its own), the guests' power state, and the removal by name of
  everything the guests left on the host.

The vagrant driver (:mod:`chaos.platform.vagrant`) uses both; nothing here imports ``vagrant``.
"""
