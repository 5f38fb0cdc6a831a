"""Patient-data protection shared by every part of the project: masking and identifier checks."""
