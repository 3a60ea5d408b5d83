#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks real gateway exchanges against docs/openapi.json with jsonschema (Draft 2020-12, the dialect of
OpenAPI 3.1).

    openapi_check.py OPENAPI.json EXCHANGES.json

EXCHANGES.json is what test_openapi recorded over real sockets: a list of
{"method", "target", "status", "headers": {lower-case name: value}, "body", "request_body"?}.

Each exchange is matched to the description as the description says a client should read it: the path
template and method give the operation, the status its response (a path not listed: components/responses/
NotFound; a method the path does not list: components/responses/MethodNotAllowed). Then the response's
Content-Type must be one the response lists, the body must validate against that media type's schema, and
every required header must be present and validate. A request body answered 204 must validate against the
operation's requestBody schema. Every operation must be exercised at least once.

Prints one line per problem and exits 1 when there is any; exits 0 with a summary otherwise.
"""
import json
import re
import sys

import jsonschema
from jsonschema import Draft202012Validator


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve(doc, node):
    """Follows a local $ref ('#/a/b') to the object it names; other nodes are returned as they are."""
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are expected, got {ref}")
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def validator(doc, schema):
    # The schema is validated as a resource whose root also holds the document's components, so that its
    # '#/components/...' references resolve within it under every jsonschema version.
    root = dict(schema)
    root["components"] = doc.get("components", {})
    return Draft202012Validator(root)


def schemas_in(node, where="#"):
    """Every Schema Object of the description, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" and isinstance(value, dict):
                yield here, value
            elif where == "#/components" and key == "schemas":
                for name, schema in value.items():
                    yield f"{here}/{name}", schema
            else:
                yield from schemas_in(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{i}")


def check_document(doc, problems):
    if not str(doc.get("openapi", "")).startswith("3.1."):
        problems.append(f"openapi is {doc.get('openapi')!r}: expected 3.1.x")
    for key in ("info", "paths"):
        if key not in doc:
            problems.append(f"the description has no {key}")
    for where, schema in schemas_in(doc):
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            problems.append(f"{where} is not a valid JSON Schema 2020-12: {e.message}")
    text = json.dumps(doc)
    for ref in sorted(set(re.findall(r'"\$ref": "([^"]+)"', text))):
        try:
            resolve(doc, {"$ref": ref})
        except (KeyError, ValueError) as e:
            problems.append(f"$ref {ref} does not resolve: {e}")


def template_regex(template):
    """A path template as a regular expression: each {name} matches one segment."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def media_base(content_type):
    return content_type.split(";")[0].strip().lower()


def check_response(doc, response, ex, label, problems):
    response = resolve(doc, response)
    headers = ex["headers"]
    for name, header in response.get("headers", {}).items():
        header = resolve(doc, header)
        value = headers.get(name.lower())
        if value is None:
            if header.get("required"):
                problems.append(f"{label}: required header {name} is missing")
            continue
        for error in validator(doc, header.get("schema", {})).iter_errors(value):
            problems.append(f"{label}: header {name}: {value!r}: {error.message}")
    content = response.get("content")
    body = ex["body"]
    if not content:
        if body:
            problems.append(f"{label}: the description lists no body, got {len(body)} bytes")
        return
    content_type = headers.get("content-type", "")
    # An exact match first (the /metrics type carries parameters), else the same media type.
    media = content.get(content_type)
    if media is None:
        media = next((m for t, m in content.items() if media_base(t) == media_base(content_type)), None)
    if media is None:
        problems.append(f"{label}: Content-Type {content_type!r} is none of {sorted(content)}")
        return
    if media_base(content_type) == "application/json" or media_base(content_type).endswith("+json"):
        try:
            instance = json.loads(body)
        except json.JSONDecodeError as e:
            problems.append(f"{label}: the body is not JSON: {e}")
            return
    else:
        instance = body
    for error in validator(doc, media.get("schema", {})).iter_errors(instance):
        at = "/".join(str(p) for p in error.absolute_path) or "the body"
        problems.append(f"{label}: {at}: {error.message}")


def check_exchange(doc, ex, used, problems):
    method = ex["method"].lower()
    path = ex["target"].split("?", 1)[0]
    status = str(ex["status"])
    label = f"{ex['method']} {ex['target'][:80]} -> {status}"
    templates = [t for t in doc["paths"] if template_regex(t).match(path)]
    if not templates:
        if status != "404":
            problems.append(f"{label}: the path is not in the description, so 404 was expected")
        check_response(doc, {"$ref": "#/components/responses/NotFound"}, ex, label, problems)
        return
    # A literal path wins over a templated one, as OpenAPI requires.
    template = min(templates, key=lambda t: t.count("{"))
    item = doc["paths"][template]
    operation = item.get(method)
    if operation is None:
        if status != "405":
            problems.append(f"{label}: {template} lists no {ex['method']}, so 405 was expected")
        check_response(doc, {"$ref": "#/components/responses/MethodNotAllowed"}, ex, label, problems)
        return
    used.add((template, method))
    response = operation.get("responses", {}).get(status) or operation.get("responses", {}).get("default")
    if response is None:
        problems.append(f"{label}: status {status} is not documented for {ex['method']} {template}")
        return
    check_response(doc, response, ex, label, problems)
    content = resolve(doc, operation["requestBody"])["content"] if "requestBody" in operation else {}
    # A JSON body is validated; another (line protocol's text/plain) is the server's to parse.
    if status == "204" and "application/json" in content and ex.get("request_body"):
        schema = content["application/json"]["schema"]
        for error in validator(doc, schema).iter_errors(json.loads(ex["request_body"])):
            problems.append(f"{label}: the accepted request body does not validate: {error.message}")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    doc = load(sys.argv[1])
    exchanges = load(sys.argv[2])
    problems = []
    check_document(doc, problems)
    used = set()
    for ex in exchanges:
        check_exchange(doc, ex, used, problems)
    for template, item in doc["paths"].items():
        for method in item:
            if method in ("get", "put", "post", "delete", "patch", "head", "options") and \
                    (template, method) not in used:
                problems.append(f"{method.upper()} {template} was never exercised")
    for p in problems:
        print(p)
    if problems:
        return 1
    statuses = sorted({str(ex["status"]) for ex in exchanges})
    print(f"openapi_check: {len(exchanges)} exchanges valid against {sys.argv[1]} "
          f"(jsonschema {jsonschema_version()}); statuses {', '.join(statuses)}")
    return 0


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # noqa: BLE001 - only for the summary line
        return "?"


if __name__ == "__main__":
    sys.exit(main())
