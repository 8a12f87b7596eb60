"""The framework catalogs that scenario tags refer to, with ids exactly as published.

A scenario's ``tags`` name what it exercises in four public catalogs:

- ``asi``: OWASP Top 10 for Agentic Applications 2026 (``ASI01`` .. ``ASI10``);
- ``nhi``: OWASP Non-Human Identities Top 10 2025 (``NHI1`` .. ``NHI10``, no leading zero);
- ``maestro``: the seven layers of CSA's MAESTRO threat-modelling framework (``L1`` .. ``L7``);
- ``nist``: NIST AI RMF 1.0 (NIST AI 100-1) subcategories, ``FUNCTION N.N`` with one space,
  e.g. ``GOVERN 1.6``, ``MAP 3.5``, ``MEASURE 2.4``, ``MANAGE 2.4``.

The loader rejects unknown ASI, NHI and MAESTRO ids and malformed NIST ids (see
:func:`check_tags`). :data:`NIST` lists the 72 subcategories of AI RMF 1.0 with short titles
(abridged from NIST AI 100-1, Tables 1-4); a well-formed id of one of the four functions
that is not in the table is accepted, so that a later revision of the framework does not
break existing files.

>>> check_tags({"asi": ["ASI03", "ASI11"], "nist": ["MAP 3.5"]})
[('tags.asi[1]', "unknown OWASP ASI id 'ASI11'; known: ASI01..ASI10")]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ASI: dict[str, str] = {
    "ASI01": "Agent Goal Hijack",
    "ASI02": "Tool Misuse and Exploitation",
    "ASI03": "Identity and Privilege Abuse",
    "ASI04": "Agentic Supply Chain Vulnerabilities",
    "ASI05": "Unexpected Code Execution",
    "ASI06": "Memory & Context Poisoning",
    "ASI07": "Insecure Inter-Agent Communication",
    "ASI08": "Cascading Failures",
    "ASI09": "Human-Agent Trust Exploitation",
    "ASI10": "Rogue Agents",
}
"""OWASP Top 10 for Agentic Applications 2026 (OWASP GenAI Security Project, December 2025)."""

NHI: dict[str, str] = {
    "NHI1": "Improper Offboarding",
    "NHI2": "Secret Leakage",
    "NHI3": "Vulnerable Third-Party NHI",
    "NHI4": "Insecure Authentication",
    "NHI5": "Overprivileged NHI",
    "NHI6": "Insecure Cloud Deployment Configurations",
    "NHI7": "Long-Lived Secrets",
    "NHI8": "Environment Isolation",
    "NHI9": "NHI Reuse",
    "NHI10": "Human Use of NHI",
}
"""OWASP Non-Human Identities Top 10 2025."""

MAESTRO: dict[str, str] = {
    "L1": "Foundation Models",
    "L2": "Data Operations",
    "L3": "Agent Frameworks",
    "L4": "Deployment and Infrastructure",
    "L5": "Evaluation and Observability",
    "L6": "Security and Compliance",
    "L7": "Agent Ecosystem",
}
"""CSA MAESTRO (Multi-Agent Environment, Security, Threat, Risk, and Outcome) layers, 2025."""

NIST_FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
NIST_ID = re.compile(r"(GOVERN|MAP|MEASURE|MANAGE) ([1-9][0-9]?)\.([1-9][0-9]?)")

NIST: dict[str, str] = {
    "GOVERN 1.1": "Legal and regulatory requirements involving AI are understood, managed and documented",
    "GOVERN 1.2": "Characteristics of trustworthy AI are integrated into organizational policies",
    "GOVERN 1.3": "Processes determine the needed level of risk management from the risk tolerance",
    "GOVERN 1.4": "The risk management process and its outcomes are established through transparent policies",
    "GOVERN 1.5": "Ongoing monitoring and periodic review of the risk management process are planned",
    "GOVERN 1.6": "Mechanisms are in place to inventory AI systems",
    "GOVERN 1.7": "Processes are in place for decommissioning and phasing out AI systems safely",
    "GOVERN 2.1": "Roles, responsibilities and lines of communication for AI risks are documented and clear",
    "GOVERN 2.2": "Personnel and partners receive AI risk management training",
    "GOVERN 2.3": "Executive leadership takes responsibility for decisions about AI risks",
    "GOVERN 3.1": "AI risk decisions are informed by a diverse team",
    "GOVERN 3.2": "Roles and responsibilities for human-AI configurations and oversight are defined",
    "GOVERN 4.1": "Policies foster a critical-thinking and safety-first mindset",
    "GOVERN 4.2": "Teams document the risks and potential impacts of the AI technology",
    "GOVERN 4.3": "Practices enable AI testing, identification of incidents and information sharing",
    "GOVERN 5.1": "Feedback from those external to the team is collected and integrated",
    "GOVERN 5.2": "Adjudicated feedback from relevant AI actors is incorporated into system design",
    "GOVERN 6.1": "Policies address AI risks associated with third-party entities",
    "GOVERN 6.2": "Contingency processes handle failures or incidents in high-risk third-party data or AI systems",
    "MAP 1.1": "Intended purposes, uses, laws, norms and deployment settings are understood and documented",
    "MAP 1.2": "Interdisciplinary AI actors and competencies establish context",
    "MAP 1.3": "The organization's mission and goals for AI technology are understood and documented",
    "MAP 1.4": "The business value or context of business use is clearly defined",
    "MAP 1.5": "Organizational risk tolerances are determined and documented",
    "MAP 1.6": "System requirements are elicited from and understood by relevant AI actors",
    "MAP 2.1": "The tasks the AI system supports and the methods that implement them are defined",
    "MAP 2.2": "The system's knowledge limits and how humans use and oversee its output are documented",
    "MAP 2.3": "Scientific integrity and TEVV considerations are identified and documented",
    "MAP 3.1": "Potential benefits of intended AI system functionality are examined and documented",
    "MAP 3.2": "Potential costs of expected or realized AI errors are examined and documented",
    "MAP 3.3": "Targeted application scope is specified and documented",
    "MAP 3.4": "Processes for operator and practitioner proficiency are defined, assessed and documented",
    "MAP 3.5": "Processes for human oversight are defined, assessed and documented",
    "MAP 4.1": "Approaches for mapping AI technology and legal risks of components are in place",
    "MAP 4.2": "Internal risk controls for AI system components, incl. third-party, are identified",
    "MAP 5.1": "Likelihood and magnitude of each identified impact are identified and documented",
    "MAP 5.2": "Practices for regular engagement with relevant AI actors about impacts are in place",
    "MEASURE 1.1": "Approaches and metrics for the most significant AI risks are selected",
    "MEASURE 1.2": "Appropriateness of AI metrics and effectiveness of existing controls are regularly assessed",
    "MEASURE 1.3": "Internal experts or independent assessors are involved in regular assessments",
    "MEASURE 2.1": "Test sets, metrics and details about the tools used during TEVV are documented",
    "MEASURE 2.2": "Evaluations involving human subjects meet applicable requirements",
    "MEASURE 2.3": "Performance or assurance criteria are measured for conditions similar to deployment",
    "MEASURE 2.4": "The functionality and behavior of the AI system are monitored when in production",
    "MEASURE 2.5": "The AI system is demonstrated to be valid and reliable",
    "MEASURE 2.6": "The AI system is evaluated regularly for safety risks and can fail safely",
    "MEASURE 2.7": "AI system security and resilience are evaluated and documented",
    "MEASURE 2.8": "Risks associated with transparency and accountability are examined and documented",
    "MEASURE 2.9": "The AI model is explained, validated and documented",
    "MEASURE 2.10": "Privacy risk of the AI system is examined and documented",
    "MEASURE 2.11": "Fairness and bias are evaluated and results are documented",
    "MEASURE 2.12": "Environmental impact and sustainability are assessed and documented",
    "MEASURE 2.13": "Effectiveness of the employed TEVV metrics and processes is evaluated and documented",
    "MEASURE 3.1": "Existing, unanticipated and emergent AI risks are regularly identified and tracked",
    "MEASURE 3.2": "Risk tracking is considered where AI risks are difficult to assess",
    "MEASURE 3.3": "Feedback processes for end users and impacted communities are established",
    "MEASURE 4.1": "Measurement approaches are connected to deployment context and domain expertise",
    "MEASURE 4.2": "Measurement results about trustworthiness in deployment are validated with AI actors",
    "MEASURE 4.3": "Measurable performance improvements or declines are identified and documented",
    "MANAGE 1.1": "Whether the AI system achieves its purpose and should proceed is determined",
    "MANAGE 1.2": "Treatment of documented AI risks is prioritized",
    "MANAGE 1.3": "Responses to high-priority AI risks are developed, planned and documented",
    "MANAGE 1.4": "Negative residual risks are documented",
    "MANAGE 2.1": "Resources required to manage AI risks are taken into account, with non-AI alternatives",
    "MANAGE 2.2": "Mechanisms are in place to sustain the value of deployed AI systems",
    "MANAGE 2.3": "Procedures are followed to respond to and recover from a previously unknown risk",
    "MANAGE 2.4": "Mechanisms supersede, disengage or deactivate AI systems acting inconsistently with intended use",
    "MANAGE 3.1": "AI risks and benefits from third-party resources are regularly monitored",
    "MANAGE 3.2": "Pre-trained models used for development are monitored",
    "MANAGE 4.1": "Post-deployment monitoring plans are implemented (appeal, override, decommissioning, response)",
    "MANAGE 4.2": "Measurable activities for continual improvement are integrated into system updates",
    "MANAGE 4.3": "Incidents and errors are communicated, tracked, responded to and recovered from",
}
"""NIST AI RMF 1.0 (NIST AI 100-1, January 2023) subcategories; titles abridged."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """One framework catalog.

    Attributes:
        key: the field of ``tags`` that holds its ids.
        short: a short label used in messages (``OWASP ASI``).
        title: the catalog's published title.
        ids: id -> title, in published order.
    """

    key: str
    short: str
    title: str
    ids: Mapping[str, str]


CATALOGS: dict[str, Catalog] = {
    "asi": Catalog("asi", "OWASP ASI", "OWASP Top 10 for Agentic Applications 2026", ASI),
    "nhi": Catalog("nhi", "OWASP NHI", "OWASP Non-Human Identities Top 10 2025", NHI),
    "maestro": Catalog("maestro", "CSA MAESTRO", "CSA MAESTRO layers", MAESTRO),
    "nist": Catalog("nist", "NIST AI RMF", "NIST AI RMF 1.0 subcategories", NIST),
}


def _squash(text: str) -> str:
    """Upper case, no separators, no leading zeros in numbers: ``asi-1`` and ``ASI01`` → ``ASI1``."""
    s = re.sub(r"[\s_\-.]+", " ", text.strip().upper())
    s = re.sub(r"(?<![0-9])0+(?=[0-9])", "", s)
    return s.replace(" ", "")


def _suggest(value: str, ids: Mapping[str, str]) -> str:
    want = _squash(value)
    for known in ids:
        if _squash(known) == want:
            return f"; did you mean {known!r}?"
    return ""


def check_id(key: str, value: object) -> str | None:
    """Why ``value`` is not a valid id of catalog ``key`` (``None`` when it is).

    >>> check_id("nhi", "NHI5") is None, check_id("nist", "MEASURE 2.13") is None
    (True, True)
    >>> check_id("nhi", "NHI05")
    "unknown OWASP NHI id 'NHI05'; known: NHI1..NHI10; did you mean 'NHI5'?"
    """
    cat = CATALOGS[key]
    if not isinstance(value, str):
        return f"expected an id of {cat.short} as text, got {value!r}"
    if key == "nist":
        if NIST_ID.fullmatch(value):
            return None
        hint = _suggest(value, NIST)
        return (f"malformed NIST AI RMF id {value!r}; write FUNCTION N.N with FUNCTION one of "
                f"{', '.join(NIST_FUNCTIONS)}, e.g. 'GOVERN 1.6'{hint}")
    if value in cat.ids:
        return None
    ids = list(cat.ids)
    return f"unknown {cat.short} id {value!r}; known: {ids[0]}..{ids[-1]}{_suggest(value, cat.ids)}"


def check_tags(tags: Mapping[str, Sequence[object]], where: str = "tags") -> list[tuple[str, str]]:
    """Unknown or malformed ids and duplicates in a scenario's tags, as (field path, message) pairs.

    Args:
        tags: catalog key (``asi``, ``nhi``, ``maestro``, ``nist``) -> the ids given.
        where: the field path of the tags in the file.
    """
    problems: list[tuple[str, str]] = []
    for key, values in tags.items():
        if key not in CATALOGS:
            problems.append((f"{where}.{key}", f"unknown catalog; known: {', '.join(CATALOGS)}"))
            continue
        seen: set[object] = set()
        for i, value in enumerate(values):
            why = check_id(key, value)
            if why is None and value in seen:
                why = f"duplicate {value!r}"
            if why is not None:
                problems.append((f"{where}.{key}[{i}]", why))
            seen.add(value)
    return problems


def title(key: str, value: str) -> str:
    """The published title of an id (empty when the table does not name it)."""
    return CATALOGS[key].ids.get(value, "")
