"""The lab's web images, built from busybox-static with no registry and no Dockerfile.

``chaoslab/web:1`` and ``chaoslab/web:2`` serve HTTP on port 80 with ``busybox httpd``; the
body names the version and the task's hostname (``version=2 host=3f2a…``) and
``/version`` holds the bare version. ``chaoslab/web:bad`` starts, says so, and exits 1
after two seconds: a release that fails, for pause/rollback experiments.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from chaos.lab.system import which
from chaos.swarm.engine import DockerEngine

REPOSITORY = "chaoslab/web"
# what an imported image was made of: an engine that holds the same is not sent it again
CONTENT_LABEL = "com.swarm-chaos.content"
APPLETS = ("sh", "httpd", "hostname", "sleep", "echo", "cat", "wget", "ls", "mkdir", "printf")


@dataclass(frozen=True, slots=True)
class WebImage:
    tag: str
    cmd: str

    @property
    def ref(self) -> str:
        return f"{REPOSITORY}:{self.tag}"

    @property
    def changes(self) -> list[str]:
        return [
            f'CMD ["/bin/sh", "-c", "{self.cmd}"]',
            "EXPOSE 80/tcp",
            f"LABEL com.swarm-chaos.image={self.ref}",
        ]


def _serve(version: str) -> str:
    return (
        f"printf 'version={version} host=%s\\\\n' $(hostname) > /www/index.html && "
        f"echo {version} > /www/version; "
        # busybox httpd as PID 1 would ignore SIGTERM (no handler), so a stop would wait out
        # the grace period; a well-behaved web server exits at once
        "httpd -f -p 80 -h /www & pid=$!; trap 'kill $pid; exit 0' TERM; wait $pid"
    )


IMAGES = (
    WebImage("1", _serve("1")),
    WebImage("2", _serve("2")),
    WebImage("bad", "echo 'chaoslab/web:bad: this release is broken' >&2; sleep 2; exit 1"),
)


def rootfs_tar() -> bytes:
    """A minimal root filesystem: static busybox, its applet links, /www, /tmp."""
    busybox = Path(which("busybox"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "www", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buf.getvalue()


def content_id(rootfs: bytes, image: WebImage) -> str:
    """A digest of what ``image`` is made of: the root filesystem and its settings."""
    digest = hashlib.sha256(rootfs)
    digest.update("\n".join(image.changes).encode())
    return digest.hexdigest()[:16]


def load(engine: DockerEngine, rootfs: bytes) -> list[str]:
    """Import every web image the engine lacks or holds made of something else (an older
    busybox or command); the refs imported. Idempotent: a second call imports nothing."""
    imported = []
    for image in IMAGES:
        content = content_id(rootfs, image)
        if (engine.image_labels(image.ref) or {}).get(CONTENT_LABEL) == content:
            continue
        changes = [*image.changes, f"LABEL {CONTENT_LABEL}={content}"]
        engine.import_image(rootfs, REPOSITORY, image.tag, changes)
        imported.append(image.ref)
    return imported
