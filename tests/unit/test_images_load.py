"""Loading the web images into an engine: what it lacks or holds made of something else is
imported, what it holds already is not sent again (the guests' `lab up` re-ran nine uploads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from chaos.lab import images
from chaos.swarm.engine import DockerEngine


class Engine:
    """The two calls :func:`images.load` makes, on a dict of ref -> labels."""

    def __init__(self) -> None:
        self.images: dict[str, dict[str, str]] = {}
        self.imports: list[str] = []

    def image_labels(self, ref: str) -> dict[str, str] | None:
        return self.images.get(ref)

    def import_image(self, tar: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        labels = dict(
            c.removeprefix("LABEL ").split("=", 1) for c in changes if c.startswith("LABEL ")
        )
        self.images[f"{repository}:{tag}"] = labels
        self.imports.append(f"{repository}:{tag}")


def test_only_what_is_missing_or_made_of_something_else_is_imported() -> None:
    engine = Engine()
    as_engine = cast(DockerEngine, engine)
    refs = [i.ref for i in images.IMAGES]
    assert images.load(as_engine, b"rootfs one") == refs  # a fresh engine gets them all
    assert images.load(as_engine, b"rootfs one") == []  # the same again: nothing sent
    assert engine.imports == refs
    # another busybox: every image is made of something else now
    assert images.load(as_engine, b"rootfs two") == refs
    # one image lost, one with the same tag but not ours (no content label)
    del engine.images[refs[0]]
    engine.images[refs[1]] = {}
    assert images.load(as_engine, b"rootfs two") == refs[:2]
    assert images.load(as_engine, b"rootfs two") == []


def test_the_content_id_follows_the_rootfs_and_the_settings() -> None:
    one, two = images.IMAGES[0], images.IMAGES[1]
    assert images.content_id(b"a", one) == images.content_id(b"a", one)
    assert images.content_id(b"a", one) != images.content_id(b"b", one)
    assert images.content_id(b"a", one) != images.content_id(b"a", two)
