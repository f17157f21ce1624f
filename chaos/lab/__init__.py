"""The local lab: a real Docker Swarm of engines in network namespaces on this host."""

from chaos.lab.config import LabConfig, LabNode
from chaos.lab.lab import Lab, ipvs_available
from chaos.lab.status import LabStatus, NodeStatus
from chaos.lab.teardown import down, leftovers

__all__ = [
    "Lab",
    "LabConfig",
    "LabNode",
    "LabStatus",
    "NodeStatus",
    "down",
    "ipvs_available",
    "leftovers",
]
