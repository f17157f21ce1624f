"""The swarm as plain data (``model``) and the one module that talks to engines (``engine``)."""
