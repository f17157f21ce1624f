"""The one exception tree of swarm-chaos.

    ChaosError                 root; the CLI catches only this and maps ``exit_code``
    ├── UsageError             bad input from the user (exit 2)
    ├── PlatformError          the cluster / host could not do what was asked (exit 3)
    │   ├── NotRootError
    │   ├── MissingBinaryError
    │   ├── NodeNotFoundError
    │   ├── NodeHaltedError
    │   ├── ClusterBusyError   another chaos command holds the cluster's lock
    │   └── EngineError        a docker engine call failed (cause kept)
    │       ├── NotFoundError  what the call named does not exist (a service, node, image)
    │       └── EngineUnreachableError  no answer at all (refused, reset, timed out)
    └── NotRestoredError       a fault could not be undone (exit 4)

Request failures of the load generator are *data* (outcome records), never exceptions.
Every message is one line that says what to do.
"""


class ChaosError(Exception):
    """Root of every error the tool raises on purpose."""

    exit_code = 1


class UsageError(ChaosError):
    """The user asked for something invalid; fix the input and retry."""

    exit_code = 2


class PlatformError(ChaosError):
    """The host or cluster could not do what was asked."""

    exit_code = 3


class NotRootError(PlatformError):
    pass


class MissingBinaryError(PlatformError):
    pass


class NodeNotFoundError(PlatformError):
    pass


class NodeHaltedError(PlatformError):
    pass


class ClusterBusyError(PlatformError):
    """Another chaos command acts on this cluster now (:mod:`chaos.lock`)."""


class EngineError(PlatformError):
    """A docker engine API call failed; ``__cause__`` holds the SDK error."""


class NotFoundError(EngineError):
    """The engine answered that the service, node or image named does not exist."""


class EngineUnreachableError(EngineError):
    """The engine did not answer (the transport failed); ``timed_out``: it accepted the
    call and then said nothing within the timeout (a frozen or overloaded engine)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class NotRestoredError(ChaosError):
    """A fault the tool injected could not be undone; run ``chaos recover``."""

    exit_code = 4
