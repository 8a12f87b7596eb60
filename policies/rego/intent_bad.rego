# intent_bad — a deliberately broken Rego policy: `simenv validate` must reject it (exit 2).
# Fault: the rule body of intent.chain_depth is never closed.
package simenv

import rego.v1

deny contains {"id": "intent.chain_depth", "reason": "delegation chain deeper than 2"} if {
	input.context.chain_depth > 2

decision := {"effect": "deny", "policy_ids": [r.id | some r in deny], "reasons": []}
