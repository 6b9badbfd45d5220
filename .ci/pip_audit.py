"""pip-audit over the installed dependencies; fatal only for a known vulnerability.

pip-audit asks PyPI's JSON API for each package's advisories. When that API (or a package on
it) cannot be reached, pip-audit can only skip: this prints how many packages went unchecked
and exits 0, so CI without the network still passes, while a vulnerability found fails it.
"""

import json
import subprocess  # a fixed command  # nosec B404
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    command = [str(BIN / "pip-audit"), "--skip-editable", "--progress-spinner", "off"]
    command += ["--format", "json"]
    try:
        run = subprocess.run(  # noqa: S603 (our own command line)  # nosec B603
            command, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"pip-audit could not run ({exc}); dependencies NOT audited")
        return 0
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print("pip-audit gave no report (vulnerability data unreachable?); NOT audited")
        print(run.stderr[-2000:])
        return 0
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"VULNERABLE {dependency['name']} {dependency.get('version')}: {ids}")
    audited = len(dependencies) - len(skipped)
    print(f"pip-audit: {audited} packages audited, {len(skipped)} could not be looked up")
    if skipped and not audited:
        print("  (no package could be looked up: the index offers no vulnerability data here)")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
