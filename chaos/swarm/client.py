"""What the tool asks of one node's docker engine: the interface the platforms hand out.

:class:`chaos.swarm.engine.DockerEngine` (the real one, over the docker SDK) and
:class:`chaos.platform.fake.FakeEngine` (in memory, for tests) both provide it. Nothing here
imports the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

from chaos.swarm.model import (
    ContainerView,
    NodeView,
    ServiceChange,
    ServiceRequest,
    ServiceView,
    TaskView,
)


class EngineClient(Protocol):
    name: str

    def __enter__(self) -> EngineClient: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def close(self) -> None: ...

    # the engine
    def ping(self, timeout: float = 2.0) -> bool: ...

    def info(self) -> Mapping[str, Any]: ...

    def server_version(self) -> str: ...

    def has_image(self, ref: str) -> bool: ...

    # swarm membership
    def swarm_member(self) -> bool: ...

    def swarm_leave(self, force: bool = True) -> None: ...

    def swarm_join(self, remote: str, token: str, advertise_addr: str) -> None: ...

    def join_tokens(self) -> tuple[str, str]: ...

    # reads (manager calls, but task_containers: any engine)
    def nodes(self) -> list[NodeView]: ...

    def services(self) -> list[ServiceView]: ...

    def service(self, name: str) -> ServiceView: ...

    def tasks(self, service: str | None = None) -> list[TaskView]: ...

    def task_containers(self) -> list[ContainerView]: ...

    def kill_container(self, container_id: str) -> int:
        """SIGKILL a container on this engine; its exit code (137) once it has exited."""
        ...

    def stop_container(self, container_id: str, grace: float) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds (``docker stop``); the exit code: the
        process's own when it stopped within its grace, 137 when the grace ran out."""
        ...

    # changes (manager calls)
    def create_service(self, req: ServiceRequest) -> str: ...

    def remove_service(self, name: str) -> bool: ...

    def update_service(self, name: str, change: ServiceChange) -> None: ...

    def scale_service(self, name: str, replicas: int) -> None: ...

    def rollback_service(self, name: str) -> None: ...

    def set_availability(self, node_id: str, availability: str) -> None: ...

    def set_role(self, node_id: str, role: str) -> None: ...

    def set_label(self, node_id: str, key: str, value: str | None) -> None: ...

    def remove_node(self, node_id: str) -> None: ...
