#!/usr/bin/env python3
"""Checks schemas/policy.schema.json against the repository's policies and fixtures.

- the schema itself must be valid JSON Schema 2020-12;
- policies/*.yaml and Tests/PolicyLanguageTests/Fixtures/good/*.yaml must be accepted;
- Tests/PolicyLanguageTests/Fixtures/bad/*.yaml must be rejected;
- Tests/PolicyLanguageTests/Fixtures/semantic/*.yaml that parse as YAML must be accepted: their
  errors (unknown plans, extends cycles, region references, duplicates) only the Swift compiler sees.

Prints one line per file and ends with `N passed, N failed`; exits 1 on any failure.
Requires: pip install jsonschema pyyaml
"""

import json
import sys
from pathlib import Path

try:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError as error:  # pragma: no cover
    print(f"missing dependency ({error}); run: pip install jsonschema pyyaml", file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "policy.schema.json"
FIXTURES = ROOT / "Tests" / "PolicyLanguageTests" / "Fixtures"


def stringify_keys(value):
    """Mapping keys as strings, so unquoted company ids like 123 meet `propertyNames`."""
    if isinstance(value, dict):
        return {("null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)): stringify_keys(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [stringify_keys(item) for item in value]
    return value


def load(path):
    """The YAML document of `path` with string keys; an empty file is an empty mapping.

    PyYAML keeps the last of duplicate keys (the compiler refuses them: a semantic fixture) and
    reads YAML 1.1 scalars (yes/no/on/off are booleans), so fixtures quote anything ambiguous.
    """
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return {} if document is None else stringify_keys(document)


def describe(error, width=160):
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    text = f"{where}: {error.message}"
    return text if len(text) <= width else text[: width - 3] + "..."


def main():
    relative = lambda path: path.relative_to(ROOT).as_posix()
    passed = failed = 0

    def report(ok, path, reason=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print(f"{'ok' if ok else 'FAIL':4} {path}{' — ' + reason if reason else ''}")

    try:
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, SchemaError) as error:
        report(False, relative(SCHEMA), f"not a valid 2020-12 schema: {getattr(error, 'message', error)}")
        print(f"{passed} passed, {failed} failed")
        return 1
    report(True, relative(SCHEMA), "valid JSON Schema 2020-12")
    validator = Draft202012Validator(schema)

    groups = [
        ("accept", sorted((ROOT / "policies").glob("*.yaml")), False),
        ("accept", sorted((FIXTURES / "good").glob("*.yaml")), False),
        ("reject", sorted((FIXTURES / "bad").glob("*.yaml")), False),
        ("accept", sorted((FIXTURES / "semantic").glob("*.yaml")), True),
    ]
    if not groups[1][1] or not groups[2][1]:
        report(False, relative(FIXTURES), "no good/ or bad/ fixtures found")

    for expectation, files, skip_unparsable in groups:
        for path in files:
            name = relative(path)
            try:
                document = load(path)
            except yaml.YAMLError as error:
                problem = str(error).splitlines()[0] if str(error) else type(error).__name__
                if skip_unparsable:
                    report(True, name, f"skipped: not YAML ({problem}); only the compiler can report it")
                else:
                    report(False, name, f"does not parse as YAML: {problem}")
                continue
            errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
            if expectation == "accept":
                report(not errors, name, describe(errors[0]) if errors else "accepted")
            else:
                report(bool(errors), name, f"rejected: {describe(errors[0])}" if errors else "accepted, but it must be rejected")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
