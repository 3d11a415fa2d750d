"""The Studio lifecycle configuration's script: it runs when a JupyterLab app starts and writes
the stage's lake coordinates (region, Athena workgroup, Glue database, each use case's
table) where the example notebooks and the data scientists' own code read them,
~/.mlplatform/lake.json (runtime_scripts/common/tabular/notebook.py)."""

from __future__ import annotations

import json
import shlex

# SageMaker runs the script with bash as the app's user; it must finish within 5 minutes.
TEMPLATE = """#!/bin/bash
set -euo pipefail
mkdir -p "$HOME/.mlplatform"
cat > "$HOME/.mlplatform/lake.json" <<'LAKE'
{document}
LAKE
echo "mlplatform: lake coordinates written to $HOME/.mlplatform/lake.json"
"""


def environment_script(*, region: str, workgroup: str, database: str, prefix: str,
                       tables: dict[str, str]) -> str:
    """`tables`: use case name -> its curated table in `database`."""
    document = json.dumps({"region": region, "athena_workgroup": workgroup,
                           "glue_database": database, "resource_prefix": prefix,
                           "use_cases": sorted(tables), "tables": tables},
                          indent=1, sort_keys=True)
    if "LAKE" in document:  # the heredoc's terminator must not occur inside it
        raise ValueError(f"lake coordinates {shlex.quote(document)} contain 'LAKE'")
    return TEMPLATE.format(document=document)
