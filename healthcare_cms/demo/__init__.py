"""Synthetic demo data: people, consents and posts with and without (fake) patient data."""
