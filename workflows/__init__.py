"""Background work: the job engine (`workflows.jobs`) and the medical validation workflows."""
