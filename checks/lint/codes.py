"""Every code any somatrace command prints, written once.

Rules take their ``CODE`` from here and everything else that names a code (the engine's ST900,
the environment policy's ST202/ST401/ST402/ST403, deploy validation's DV codes, the fixers)
imports it. Each code is also a registered rule class under ``rules/`` with its documentation,
so ``somatrace explain`` knows all of them (``tests/rules/test_catalogue.py``).

Prefixes group them like Ruff's: ST1 initialisation, ST2 content and data, ST3 tags, ST4 export
settings, ST9 the tool itself; DV0 YAML, DV1 Kubernetes manifests, DV2 Helm, DV3 references
between manifests.
"""

from __future__ import annotations

import re

# -- the lint gate (somatrace check) ----------------------------------------------------------
MISSING_INIT_TRACING = "ST101"
DIRECT_TRACELOOP_INIT = "ST102"
TRACE_CONTENT_ENABLED = "ST201"
TRACE_CONTENT_ENABLED_CONFIG = "ST202"
PII_SPAN_ATTRIBUTE = "ST203"
SPAN_MISSING_TAGS = "ST301"
ASSOCIATION_PROPERTIES_MISSING_TAGS = "ST302"
HARDCODED_OTLP_SECRET = "ST401"
SAMPLING_BELOW_POLICY = "ST402"
MISSING_OTLP_ENDPOINT = "ST403"
PARSE_ERROR = "ST900"

# -- deploy validation (somatrace deploy validate) --------------------------------------------
DEPLOY_YAML_ERROR = "DV001"
DEPLOY_K8S_SCHEMA = "DV101"
DEPLOY_CRD_SCHEMA = "DV102"
DEPLOY_NO_SCHEMA = "DV103"
DEPLOY_WORKLOAD_SEMANTICS = "DV104"
DEPLOY_VALUES_SCHEMA = "DV201"
DEPLOY_INLINE_SECRET = "DV202"
DEPLOY_HELMFILE_SCHEMA = "DV203"
DEPLOY_VALUES_FILE = "DV204"
DEPLOY_MISSING_SECRET = "DV301"
DEPLOY_UNKNOWN_NAMESPACE = "DV302"
DEPLOY_MISSING_REFERENCE = "DV303"

# A selector: a whole code, a prefix of one (ST, ST1, DV2), or ALL.
SELECTOR = re.compile(r"^(?:ALL|(?:ST|DV)[0-9]{0,3})$")
