// Package disagg brings up a disaggregated deployment (one frontend, prefill workers,
// decode workers) across the nodes of an allocation. The deployment is planned once, when
// the run is planned: Layout places every worker on a node (workers wider than a node span
// several, narrower ones share a node with GPUs of their own), and a Plan holds every
// process's command line and environment. One Launcher runs on each node (Slurm starts one
// task per node), picks its node's processes from the plan, fills in the host names Slurm
// chose, starts them and supervises them: when any process exits the launcher stops the
// others and exits non-zero with a FATAL line, and it passes SIGTERM and SIGINT on.
package disagg
