#!/usr/bin/env python3
"""A client generated from docs/api/openapi.json by a stock generator makes real calls.

openapi-python-client (PyPI) generates a typed Python package from the committed OpenAPI
document; the script starts `civil serve` on a fresh data directory, mints a registrar's token
with `civil token` and calls GetMaritalStatus through the generated client, as a county system
integrating over HTTP/JSON would, then checks that a refusal comes back as the documented
AIP-193 error model. Also runs the README's curl example unchanged.
"""
import importlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def generate(into: str) -> None:
    generator = os.path.join(os.path.dirname(sys.executable), "openapi-python-client")
    done = subprocess.run(
        [generator, "generate", "--path", os.path.join(ROOT, "docs/api/openapi.json"),
         "--meta", "none", "--output-path", os.path.join(into, "civil_client")],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"FAIL openapi-python-client:\n{done.stdout}{done.stderr}")
    sys.path.insert(0, into)


def wait_ready(base: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL civil serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("FAIL civil serve did not answer /openapi.json within 120 s")


def main() -> int:
    binary, port = sys.argv[1], sys.argv[2]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as gen, tempfile.TemporaryDirectory() as data:
        generate(gen)
        client_mod = importlib.import_module("civil_client")
        api = importlib.import_module(
            "civil_client.api.civil_marriage_v_1_marriage_service.marriage_service_get_marital_status")
        models = importlib.import_module("civil_client.models")
        env = dict(os.environ, CIVIL_LISTEN=f"127.0.0.1:{port}", CIVIL_DATA_DIR=data)
        proc = subprocess.Popen([binary, "serve"], env=env)
        try:
            wait_ready(base, proc)
            token = subprocess.run([binary, "token", "--role", "registrar", "--region", "330723"],
                                   env=env, check=True, capture_output=True, text=True).stdout.strip()
            client = client_mod.AuthenticatedClient(base_url=base, token=token)
            request = models.CivilMarriageV1GetMaritalStatusRequest(id_number="330723198503150023")
            answer = api.sync_detailed(client=client, body=request)
            if answer.status_code != 200 or not isinstance(answer.parsed, models.CivilMarriageV1MaritalStatus):
                print(f"FAIL generated client: HTTP {answer.status_code} {answer.content[:300]!r}")
                return 1
            print(f"generated client: GetMaritalStatus -> {answer.parsed.to_dict()}")

            # A caller without a token gets the AIP-193 error model the document describes.
            anonymous = client_mod.Client(base_url=base)
            refused = api.sync_detailed(client=anonymous, body=request)
            if refused.status_code != 401 or not isinstance(refused.parsed, models.Error):
                print(f"FAIL unauthenticated call: HTTP {refused.status_code} {refused.content[:300]!r}")
                return 1
            print(f"generated client: no token -> {refused.parsed.to_dict()['error']['status']}")

            readme = subprocess.run(
                ["curl", "-s", "-f", "-X", "POST", "-H", "content-type: application/json",
                 "-H", f"authorization: Bearer {token}", "-d", '{"idNumber":"330723198503150023"}',
                 f"{base}/v1/civil.marriage.v1.MarriageService/GetMaritalStatus"],
                capture_output=True, text=True)
            if readme.returncode != 0:
                print(f"FAIL the README's curl example: exit {readme.returncode} {readme.stdout[:300]}")
                return 1
            print(f"README curl: {readme.stdout.strip()[:200]}")
            return 0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
