"""People who use the CMS: a custom user model with roles, activity and soft delete."""
