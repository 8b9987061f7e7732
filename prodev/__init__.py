"""The machinery behind the lessons (the lead's split fills this package in)."""
