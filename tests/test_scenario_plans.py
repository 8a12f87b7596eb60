"""Plan and intent steps are checked against the tool catalog when a scenario loads (no episodes run)."""

import pytest
import yaml
from conftest import SCENARIOS, simenv_cli

from simenv import files
from simenv.errors import SpecError
from simenv.scenario.loader import load_scenario


def _copy(tmp_path, fn, name="delegated_admin"):
    """A copy of shipped scenario ``name`` with ``fn`` applied to its parsed data, written to ``tmp_path``."""
    data = yaml.safe_load((files.shipped_dir("scenarios") / f"{name}.yaml").read_text())
    fn(data)
    path = tmp_path / f"{name}_broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _rejects(path, field, *words):
    """Loading ``path`` fails with exactly one ``file: field: message`` line, containing every word."""
    with pytest.raises(SpecError) as e:
        load_scenario(path)
    text = e.value.render()
    lines = [ln for ln in text.splitlines() if ln.startswith(f"{path}: {field}: ")]
    assert len(lines) == 1, text
    for w in words:
        assert w in lines[0], text
    return text


def _plan(d, agent=0):
    return d["agents"][agent]["plan"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_loads(name):
    load_scenario(name)


# -- 1. control steps take no arguments
@pytest.mark.parametrize("tool", ["complete_ticket", "abort_ticket"])
def test_a_control_step_with_arguments_is_rejected(tmp_path, tool):
    path = _copy(tmp_path, lambda d: _plan(d).__setitem__(2, {"tool": tool, "args": {"group": "eng-readers"}}))
    _rejects(path, "agents[0].plan[2].args", f"{tool} takes no arguments", "remove args")


# -- 2. unknown argument names
def test_an_unknown_plan_argument_is_rejected_with_the_tools_arguments(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(member="bob"))
    _rejects(path, "agents[0].plan[1].args.member", "idp_add_member has no argument 'member'",
             "its arguments: group, identity")


def test_a_misspelt_intent_argument_is_rejected_with_a_suggestion(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][0].update(args={"gruop": "eng-readers"}))
    _rejects(path, "tickets[0].intent[0].args.gruop", "idp_list_members has no argument 'gruop'",
             "its arguments: group", "did you mean 'group'?")


# -- 3. missing arguments: an error in a plan, "not constrained" in intent
def test_a_missing_plan_argument_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].pop("identity"))
    _rejects(path, "agents[0].plan[1].args.identity", "missing argument", "idp_add_member needs identity",
             "an identity name")


def test_a_missing_argument_in_nested_on_deny_is_rejected(tmp_path):
    def nested(d):
        _plan(d)[1]["on_deny"] = [{"tool": "idp_list_members", "args": {"group": "eng-readers"},
                                   "on_deny": [{"tool": "idp_assign_role", "args": {"role": "idp-admin"}}]}]
    path = _copy(tmp_path, nested)
    _rejects(path, "agents[0].plan[1].on_deny[0].on_deny[0].args.identity", "missing argument",
             "idp_assign_role needs identity")


def test_intent_may_leave_arguments_out(tmp_path):
    load_scenario(_copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].pop("identity")))


# -- 4. "*" matches any value in intent, never in a plan
def test_a_wildcard_in_a_plan_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[0]["args"].update(group="*"))
    _rejects(path, "agents[0].plan[0].args.group", "'*' matches any value in ticket intent only",
             "an idp group")


def test_a_wildcard_in_intent_is_accepted(tmp_path):
    load_scenario(_copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].update(group="*")))


# -- 5. identity arguments
def test_an_unknown_identity_in_a_plan_is_rejected_with_a_suggestion(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(identity="bobby"))
    _rejects(path, "agents[0].plan[1].args.identity", "unknown identity 'bobby'", "identities[]", "$self",
             "did you mean 'bob'?")


def test_self_in_intent_is_rejected_with_the_agents_name(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][1]["args"].update(identity="$self"))
    _rejects(path, "tickets[0].intent[1].args.identity", "'$self' is not resolved in intent",
             "write the agent's name", "'helpdesk-agent'")


def test_self_in_a_plan_is_accepted(tmp_path):
    load_scenario(_copy(tmp_path, lambda d: _plan(d)[1]["args"].update(identity="$self")))


# -- 6. resource arguments: known, of the tool's type and system
def test_an_unknown_resource_is_rejected_with_a_suggestion(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[0]["args"].update(group="eng-reader"))
    _rejects(path, "agents[0].plan[0].args.group", "unknown group 'eng-reader'", "name an idp group of resources[]",
             "did you mean 'eng-readers'?")


def test_a_resource_of_the_wrong_type_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1].update(tool="idp_assign_role",
                                                        args={"role": "eng-readers", "identity": "bob"}))
    _rejects(path, "agents[0].plan[1].args.role", "'eng-readers' is an idp group, not an idp role",
             "e.g. helpdesk-role, idp-admin, repo-reader")


def test_a_resource_of_another_system_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d).insert(0, {"tool": "cloud_attach_role",
                                                         "args": {"role": "idp-admin", "identity": "$self"}}))
    _rejects(path, "agents[0].plan[0].args.role", "'idp-admin' is an idp role, not a cloud role")


def test_a_wrong_resource_in_a_per_ticket_plan_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: d["agents"][0]["plans"]["T-41"][1]["args"].update(key="prod-payment-key"),
                 "credential_persistence")
    _rejects(path, "agents[0].plans.T-41[1].args.key", "unknown key 'prod-payment-key'",
             "did you mean 'prod-payments-key'?")


def test_a_wrong_resource_in_intent_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: d["tickets"][0]["intent"][0]["args"].update(group="bob"))
    _rejects(path, "tickets[0].intent[0].args.group", "unknown group 'bob'", "e.g. eng-readers")


def test_an_agent_is_an_endpoint_but_a_human_is_not(tmp_path):
    load_scenario("multi_agent_chaining")  # invoke_agent(agent: admin-bot)
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(agent="dana"), "multi_agent_chaining")
    _rejects(path, "agents[0].plan[1].args.agent", "unknown agent 'dana'", "name an idp agent of resources[]",
             "admin-bot")


# -- 7. text arguments: enums and secret:// references
def test_a_value_outside_the_enum_is_rejected_with_a_suggestion(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(state="disable"), "conditional_access_tamper")
    _rejects(path, "agents[0].plan[1].args.state", "'disable' is not one of enabled, disabled, report_only",
             "did you mean 'disabled'?")


def test_a_secret_reference_to_an_unknown_secret_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(value="secret://warehouse-admin-pasword"),
                 "secrets_sprawl")
    _rejects(path, "agents[0].plan[1].args.value", "unknown secret 'warehouse-admin-pasword'",
             "secret://NAME must name a secret or key", "did you mean 'warehouse-admin-password'?")


def test_a_secret_reference_to_a_table_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(value="secret://warehouse"), "secrets_sprawl")
    _rejects(path, "agents[0].plan[1].args.value", "'secret://warehouse' names a db table",
             "e.g. warehouse-admin-password")


def test_a_plain_variable_value_is_free_text(tmp_path):
    load_scenario(_copy(tmp_path, lambda d: _plan(d)[1]["args"].update(value="hunter2"), "secrets_sprawl"))


# -- 8. the credential a plan step presents
def test_an_unknown_credential_form_is_rejected_with_the_valid_forms(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1].update(credential="newest"))
    _rejects(path, "agents[0].plan[1].credential", "unknown credential 'newest'", "$newest", "$cached", "cred-3")


@pytest.mark.parametrize("cred", ["$newest", "$cached", "cred-3"])
def test_the_valid_credential_forms_are_accepted(tmp_path, cred):
    load_scenario(_copy(tmp_path, lambda d: _plan(d)[1].update(credential=cred)))


# -- every problem at once, in file order; the command line
def test_every_problem_is_reported_in_file_order(tmp_path):
    def broken(d):
        _plan(d)[0]["args"].update(group="nope")
        _plan(d)[1]["args"].update(identity="nobody")
    text = _rejects(_copy(tmp_path, broken), "agents[0].plan[0].args.group", "unknown group 'nope'")
    assert text.index("plan[0].args.group") < text.index("plan[1].args.identity"), text


def test_simenv_validate_reports_a_bad_plan_step_as_file_field_exit_2(tmp_path):
    path = _copy(tmp_path, lambda d: _plan(d)[1]["args"].update(identity="bobby"))
    r = simenv_cli("validate", str(path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{path}: agents[0].plan[1].args.identity: unknown identity 'bobby'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
