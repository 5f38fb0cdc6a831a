"""The medical validation pipeline: LGPD analysis, claims extraction and CFM validation of posts."""
