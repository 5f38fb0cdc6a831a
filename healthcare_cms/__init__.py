"""Healthcare CMS: compliance-checked medical content on an Oban-style job engine."""
