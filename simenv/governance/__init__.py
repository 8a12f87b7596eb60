"""Layer 3: governance — request/decision model, profiles, brokers, authorizers, approvals, monitors."""
