"""swarm-chaos: chaos engineering and availability benchmarking for Docker Swarm.

An experiment drives open-loop **load** at a swarm service while a **fault schedule** acts on
the cluster through a **platform** driver; every request and every cluster event lands on one
**timeline**; after the run, **checks** turn the saved result into a verdict and **reports**
render it.
"""

__version__ = "0.1.0"
