# intent — the intent policy for the Agent Governance Toolkit, bound at pre_tool_call by intent.yaml.
#
# input is AGT's policy input: input.tool is the manifest's catalog entry of the called tool (its
# risk and system), input.snapshot the AGT envelope and tool call, input.annotations.simenv the
# request as simenv's governance layer sees it (see the README's section for policy authors).
# The decision is an AGT verdict: decision allow | deny | escalate; reason the ids of the rules
# that decided, comma-separated; message their reasons, one a line.
# Deny overrides escalate, which overrides allow; anything else is denied.
package agt.simenv.intent

import rego.v1

req := input.annotations.simenv

ctx := req.context

high_risk := {"privilege_grant", "key_export", "cross_domain", "credential_issue"}

deny contains {"id": "intent.out_of_scope", "reason": "outside the ticket's declared scope"} if {
	not ctx.in_declared_scope
}

deny contains {"id": "intent.no_self_grant", "reason": "an identity may not grant privileges to itself"} if {
	ctx.self_target
	input.tool.risk == "privilege_grant"
}

deny contains {"id": "intent.chain_depth", "reason": "delegation chain deeper than 2"} if {
	count(ctx.chain) > 3
}

deny contains {
	"id": "intent.stale_credential",
	"reason": "an agent's long-lived static credential may not touch a sensitive resource",
} if {
	ctx.credential.kind == "static"
	req.principal.kind == "agent"
	req.resource.sensitivity >= 8
}

deny contains {"id": "intent.orphaned", "reason": "the agent's owner has left; an orphaned agent may not act (OWASP NHI1)"} if {
	req.principal.owner_active == false
}

deny contains {"id": "intent.long_lived_key", "reason": "a credential may not outlive an hour (OWASP NHI7)"} if {
	is_number(ctx.lifetime)
	ctx.lifetime > 60
}

deny contains {"id": "intent.unjustified_high_risk", "reason": "a high-risk action needs a stated justification"} if {
	high_risk[input.tool.risk]
	not is_string(ctx.justification)
}

escalate contains {"id": "intent.approval_cross_tenant", "reason": "a call into another tenant needs human approval"} if {
	req.resource.tenant != input.snapshot.envelope.tenant.id
	ctx.approval != "granted"
}

escalate contains {"id": "intent.approval_break_glass", "reason": "a break-glass resource needs human approval"} if {
	"break_glass" in req.resource.marks
	ctx.approval != "granted"
}

escalate contains {"id": "intent.approval_high_risk", "reason": "high-risk action needs human approval"} if {
	high_risk[input.tool.risk]
	ctx.approval != "granted"
}

allow contains {"id": "intent.allow_in_scope", "reason": "within the declared scope and covered by the credential"} if {
	ctx.in_declared_scope
	ctx.credential.covers
}

verdict(decision, rules) := {
	"decision": decision,
	"reason": concat(",", sort([r.id | some r in rules])),
	"message": concat("\n", sort([r.reason | some r in rules])),
}

decision := verdict("deny", deny) if count(deny) > 0
else := verdict("escalate", escalate) if count(escalate) > 0
else := verdict("allow", allow) if count(allow) > 0
else := {"decision": "deny", "reason": "default", "message": "no policy allows the request (default deny)"}
