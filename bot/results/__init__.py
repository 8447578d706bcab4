"""What DVC knows per revision: metrics, params and plots of the two revisions compared."""

BASE = "base"
HEAD = "head"
WORKSPACE = "workspace"  # DVC's name for the working tree, where the job reproduced the head
