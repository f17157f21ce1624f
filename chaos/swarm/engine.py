"""The one module that imports the docker SDK: a small, typed client per engine.

Every SDK or transport failure is translated here into :class:`chaos.errors.EngineError`
(with the original as ``__cause__``), so nothing above this module knows docker-py's
exception tree. Calls are blocking; async callers run them through ``anyio.to_thread``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import requests.exceptions

from chaos.errors import EngineError, EngineUnreachableError, NotFoundError, UsageError
from chaos.swarm.model import (
    ContainerView,
    NodeView,
    PortRequest,
    ServiceChange,
    ServiceRequest,
    ServiceView,
    TaskView,
    UpdatePolicy,
)

_NS = 1_000_000_000


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


# what a call to an engine can raise besides APIError: the SDK's own errors and the transport's
_FAILURES = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


@contextmanager
def _translated(what: str, where: str) -> Iterator[None]:
    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFoundError(f"{what} on {where}: not found") from exc
    except docker.errors.APIError as exc:
        text = exc.explanation or str(exc)
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        raise EngineError(f"{what} on {where} failed: {str(text).strip()}") from exc
    except docker.errors.DockerException as exc:
        raise EngineError(f"{what} on {where} failed: {exc}") from exc
    except _FAILURES as exc:  # the transport: the engine did not answer
        timed_out = isinstance(exc, requests.exceptions.Timeout | TimeoutError)
        raise EngineUnreachableError(
            f"{what} on {where} failed: engine unreachable ({exc})", timed_out=timed_out
        ) from exc


def _update_config(policy: UpdatePolicy) -> dict[str, Any] | None:
    """Only the fields set; the engine fills the rest with its own defaults (not docker-py's)."""
    cfg: dict[str, Any] = {}
    if policy.parallelism is not None:
        cfg["Parallelism"] = policy.parallelism
    if policy.delay_s is not None:
        cfg["Delay"] = _ns(policy.delay_s)
    if policy.order is not None:
        cfg["Order"] = policy.order
    if policy.failure_action is not None:
        cfg["FailureAction"] = policy.failure_action
    if policy.monitor_s is not None:
        cfg["Monitor"] = _ns(policy.monitor_s)
    if policy.max_failure_ratio is not None:
        cfg["MaxFailureRatio"] = policy.max_failure_ratio
    return cfg or None


def _port_doc(port: PortRequest) -> dict[str, Any]:
    doc: dict[str, Any] = {"Protocol": "tcp", "TargetPort": port.target, "PublishMode": port.mode}
    if port.published is not None:
        doc["PublishedPort"] = port.published
    return doc


def service_spec(req: ServiceRequest) -> dict[str, Any]:
    """The engine API ``ServiceSpec`` document for a request (pure; exposed for tests)."""
    container: dict[str, Any] = {"Image": req.image}
    if req.env:
        container["Env"] = [f"{k}={v}" for k, v in sorted(req.env.items())]
    if req.stop_grace_s is not None:
        container["StopGracePeriod"] = _ns(req.stop_grace_s)
    if req.health is not None:
        container["Healthcheck"] = {
            "Test": list(req.health.test),
            "Interval": _ns(req.health.interval_s),
            "Timeout": _ns(req.health.timeout_s),
            "Retries": req.health.retries,
            "StartPeriod": _ns(req.health.start_period_s),
        }
    template: dict[str, Any] = {"ContainerSpec": container, "ForceUpdate": 0}
    if req.constraints:
        template["Placement"] = {"Constraints": list(req.constraints)}
    if req.restart_delay_s is not None:
        template["RestartPolicy"] = {"Condition": "any", "Delay": _ns(req.restart_delay_s)}
    spec: dict[str, Any] = {
        "Name": req.name,
        "Labels": dict(req.labels),
        "TaskTemplate": template,
        "Mode": {"Global": {}}
        if req.replicas is None
        else {"Replicated": {"Replicas": req.replicas}},
    }
    update = _update_config(req.update)
    if update:
        spec["UpdateConfig"] = update
    rollback = _update_config(req.rollback)
    if rollback:
        spec["RollbackConfig"] = rollback
    if req.ports:
        spec["EndpointSpec"] = {"Mode": "vip", "Ports": [_port_doc(p) for p in req.ports]}
    return spec


def _unix_ping(path: str, timeout: float) -> bool:
    # Plain socket: docker-py leaks the socket when connect() fails (engine booting).
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply[:16]


class DockerEngine:
    """A docker engine reached at ``base_url`` (``unix://…``, ``ssh://…``, ``tcp://…``).

    ``timeout`` bounds every call in seconds; keep it short for probes: an engine without
    quorum holds manager calls for up to 20 s.
    """

    def __init__(self, base_url: str, *, name: str = "", timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.name = name or base_url
        self.timeout = timeout
        self._client: docker.DockerClient | None = None

    # -- connection ---------------------------------------------------------------------
    @property
    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            with _translated("connecting", self.name):
                self._client = docker.DockerClient(
                    base_url=self.base_url, version="auto", timeout=int(max(1, round(self.timeout)))
                )
        return self._client

    @property
    def _api(self) -> Any:
        # docker-py's low-level client; its stubs are partial, so it is Any in this one module.
        return self._docker.api

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __del__(self) -> None:
        # Engines are cheap handles passed around freely; close pooled sockets when dropped.
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> DockerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self, timeout: float = 2.0) -> bool:
        """True when the engine answers ``/_ping`` within ``timeout``; never raises."""
        if self.base_url.startswith("unix://"):
            return _unix_ping(self.base_url.removeprefix("unix://"), timeout)
        try:
            client = docker.APIClient(base_url=self.base_url, version="1.24", timeout=2)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except _FAILURES:
            return False

    # -- engine -------------------------------------------------------------------------
    def info(self) -> Mapping[str, Any]:
        with _translated("docker info", self.name):
            return dict(self._docker.info())

    def server_version(self) -> str:
        with _translated("docker version", self.name):
            return str(self._docker.version().get("Version", ""))

    def has_image(self, ref: str) -> bool:
        """Whether the engine has image ``ref`` locally (no registry is asked)."""
        return self.image_labels(ref) is not None

    def image_labels(self, ref: str) -> dict[str, str] | None:
        """The labels of the engine's local image ``ref``; None when it has no such image."""
        try:
            with _translated(f"image inspect {ref}", self.name):
                found = self._api.inspect_image(ref)
        except NotFoundError:
            return None
        return dict((found.get("Config") or {}).get("Labels") or {})

    def import_image(self, tar: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        with _translated(f"importing {repository}:{tag}", self.name):
            self._api.import_image_from_data(
                tar, repository=repository, tag=tag, changes=list(changes)
            )

    # -- swarm --------------------------------------------------------------------------
    def swarm_init(self, advertise_addr: str) -> str:
        with _translated("swarm init", self.name):
            return str(
                self._api.init_swarm(
                    advertise_addr=advertise_addr, listen_addr=f"{advertise_addr}:2377"
                )
            )

    def join_tokens(self) -> tuple[str, str]:
        """(worker token, manager token)."""
        with _translated("swarm inspect", self.name):
            tokens = self._api.inspect_swarm()["JoinTokens"]
            return str(tokens["Worker"]), str(tokens["Manager"])

    def swarm_join(self, remote: str, token: str, advertise_addr: str) -> None:
        with _translated("swarm join", self.name):
            self._api.join_swarm(
                remote_addrs=[remote],
                join_token=token,
                advertise_addr=advertise_addr,
                listen_addr=f"{advertise_addr}:2377",
            )

    def swarm_leave(self, force: bool = True) -> None:
        with _translated("swarm leave", self.name):
            self._api.leave_swarm(force=force)

    # -- cluster state (manager calls) ---------------------------------------------------
    def nodes(self) -> list[NodeView]:
        with _translated("node ls", self.name):
            return [NodeView.parse(doc) for doc in self._api.nodes()]

    def tasks(self, service: str | None = None) -> list[TaskView]:
        filters = {"service": service} if service else None
        with _translated("service ps", self.name):
            return [TaskView.parse(doc) for doc in self._api.tasks(filters=filters)]

    def task_containers(self) -> list[ContainerView]:
        """The running containers of swarm tasks on this engine (any engine, no manager)."""
        with _translated("ps", self.name):
            docs = self._api.containers(filters={"label": "com.docker.swarm.task.id"})
            return [ContainerView.parse(doc) for doc in docs]

    def kill_container(self, container_id: str) -> int:
        with _translated(f"kill {container_id[:12]}", self.name):
            self._api.kill(container_id, signal="KILL")
        return self._exit_code(container_id)

    def stop_container(self, container_id: str, grace: float) -> int:
        with _translated(f"stop {container_id[:12]}", self.name):
            self._api.stop(container_id, timeout=max(0, round(grace)))
        return self._exit_code(container_id)

    def _exit_code(self, container_id: str) -> int:
        with _translated(f"wait {container_id[:12]}", self.name):
            return int(self._api.wait(container_id, timeout=30)["StatusCode"])

    def services(self) -> list[ServiceView]:
        with _translated("service ls", self.name):
            return [ServiceView.parse(doc) for doc in self._api.services()]

    def service(self, name: str) -> ServiceView:
        with _translated(f"service inspect {name}", self.name):
            return ServiceView.parse(self._api.inspect_service(name))

    # -- changes ------------------------------------------------------------------------
    def create_service(self, req: ServiceRequest) -> str:
        spec = service_spec(req)
        with _translated(f"service create {req.name}", self.name):
            result = self._api._post_json(  # full spec: no docker-py defaults
                self._api._url("/services/create"), data=spec
            )
            if result.status_code >= 400:
                raise EngineError(
                    f"service create {req.name} on {self.name} failed: "
                    f"{result.status_code} {result.text.strip()[:300]}"
                )
            return str(result.json()["ID"])

    def _update_service(self, name: str, mutate: Any, *, rollback: bool = False) -> None:
        """Read the current spec, let ``mutate(spec)`` change it in place, submit it.

        Retries once on "update out of sequence" (a concurrent change raced us).
        """
        for attempt in range(2):
            with _translated(f"service update {name}", self.name):
                doc = self._api.inspect_service(name)
                spec = doc["Spec"]
                if not rollback:
                    mutate(spec)
                params: dict[str, Any] = {"version": doc["Version"]["Index"]}
                if rollback:
                    params["rollback"] = "previous"
                resp = self._api._post_json(  # docker-py has no rollback helper
                    self._api._url("/services/{0}/update", doc["ID"]),
                    data=spec,
                    params=params,
                )
                if resp.status_code == 500 and "out of sequence" in resp.text and attempt == 0:
                    continue
                if resp.status_code == 404:
                    raise NotFoundError(f"service update {name} on {self.name}: not found")
                resp.raise_for_status()
                return

    def update_service(self, name: str, change: ServiceChange) -> None:
        """``docker service update``: the image, the update settings, ``--force``."""

        def mutate(spec: dict[str, Any]) -> None:
            template = spec.setdefault("TaskTemplate", {})
            if change.image is not None:
                template.setdefault("ContainerSpec", {})["Image"] = change.image
            spec["UpdateConfig"] = {
                **(spec.get("UpdateConfig") or {}),
                **(_update_config(change.update) or {}),
            }
            if change.force:
                template["ForceUpdate"] = int(template.get("ForceUpdate", 0)) + 1

        self._update_service(name, mutate)

    def scale_service(self, name: str, replicas: int) -> None:
        """``docker service scale NAME=N``; a global service cannot be scaled."""

        def mutate(spec: dict[str, Any]) -> None:
            mode = spec.get("Mode", {})
            if "Replicated" not in mode:
                raise UsageError(f"scale needs a replicated service ({name} is global)")
            mode["Replicated"]["Replicas"] = replicas

        self._update_service(name, mutate)

    def rollback_service(self, name: str) -> None:
        """``docker service rollback``: back to the previous spec."""
        self._update_service(name, None, rollback=True)

    def remove_service(self, name: str) -> bool:
        """Remove a service; False if it did not exist."""
        try:
            self._api.remove_service(name)
            return True
        except docker.errors.NotFound:
            return False
        except _FAILURES as exc:
            raise EngineError(f"service rm {name} on {self.name} failed: {exc}") from exc

    def remove_node(self, node_id: str) -> None:
        """``docker node rm --force``: a node that left (or died for good) off the list."""
        with _translated(f"node rm {node_id}", self.name):
            self._api.remove_node(node_id, force=True)

    def local_node_state(self) -> str:
        """The engine's ``LocalNodeState``: ``inactive`` (no swarm), ``pending`` (in one, not
        yet ready), ``active`` (its node has been ready since this engine started: the agent
        got a session with a dispatcher, which needs a leader), ``error`` or ``locked``."""
        return str((self.info().get("Swarm") or {}).get("LocalNodeState", ""))

    def swarm_member(self) -> bool:
        """Whether this engine is part of a swarm (``LocalNodeState`` active or pending)."""
        return self.local_node_state() in ("active", "pending")

    def _update_node(self, node_id: str, mutate: Any) -> None:
        """Read the node spec, let ``mutate(spec)`` change it, submit the full spec."""
        for attempt in range(2):
            with _translated(f"node update {node_id}", self.name):
                doc = self._api.inspect_node(node_id)
                spec = dict(doc["Spec"])
                mutate(spec)
                try:
                    self._api.update_node(node_id, doc["Version"]["Index"], spec)
                    return
                except docker.errors.APIError as exc:
                    if "out of sequence" in str(exc) and attempt == 0:
                        continue
                    raise

    def set_availability(self, node_id: str, availability: str) -> None:
        """``docker node update --availability active|pause|drain``."""
        self._update_node(node_id, lambda spec: spec.__setitem__("Availability", availability))

    def set_role(self, node_id: str, role: str) -> None:
        """``docker node promote`` (``manager``) / ``demote`` (``worker``)."""
        self._update_node(node_id, lambda spec: spec.__setitem__("Role", role))

    def set_label(self, node_id: str, key: str, value: str | None) -> None:
        """``docker node update --label-add KEY=VALUE`` (``--label-rm KEY`` for ``None``)."""

        def mutate(spec: dict[str, Any]) -> None:
            labels = dict(spec.get("Labels") or {})
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
            spec["Labels"] = labels

        self._update_node(node_id, mutate)
