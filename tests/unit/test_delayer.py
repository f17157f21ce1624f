"""The lab's user-space netem: a verdict per queued packet, without a kernel queue."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.lab.delayer import Delayer


@dataclass
class Packet:
    verdict: str = ""

    def accept(self) -> None:
        self.verdict = "accept"

    def drop(self) -> None:
        self.verdict = "drop"


def test_loss_drops_its_share_and_holds_the_rest() -> None:
    delayer = Delayer(0.0, 0.0, seed=7, loss=0.3)
    packets = [Packet() for _ in range(2000)]
    for packet in packets:
        delayer.hold(packet)
    dropped = sum(p.verdict == "drop" for p in packets)
    assert 500 <= dropped <= 700  # 600 expected; seeded, so the same count every run
    assert len(delayer.held) == 2000 - dropped
    assert delayer.release_due() is None  # no delay: every kept packet is due at once
    assert all(p.verdict for p in packets) and not delayer.held


def test_no_loss_drops_nothing() -> None:
    delayer = Delayer(10.0, 0.0, seed=1)
    packets = [Packet() for _ in range(100)]
    for packet in packets:
        delayer.hold(packet)
    assert not any(p.verdict for p in packets) and len(delayer.held) == 100
    wait = delayer.release_due()
    assert wait is not None and wait > 9.0  # held for the delay, none released yet
