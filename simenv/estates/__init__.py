"""Estates imported from what people export: AWS IAM authorization details, and their escalation edges."""
