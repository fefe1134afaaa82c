#!/usr/bin/env python3
"""The README's run command, checked with a stock grpcio client.

Starts `civil serve` on a fresh data directory, then asks grpc.health.v1 for every civil.*
service and lists services through server reflection, exactly as an operator's tooling would.
"""
import os
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

SERVICES = [
    "civil.marriage.v1.MarriageService",
    "civil.assistance.v1.AssistanceService",
    "civil.funeral.v1.FuneralService",
    "civil.eldercare.v1.EldercareService",
    "civil.socialorg.v1.SocialOrgService",
    "civil.placename.v1.PlaceNameService",
    "civil.onematter.v1.OneMatterService",
]


def main() -> int:
    binary, port = sys.argv[1], sys.argv[2]
    addr = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, CIVIL_LISTEN=addr, CIVIL_DATA_DIR=data)
        proc = subprocess.Popen([binary, "serve"], env=env)
        try:
            channel = grpc.insecure_channel(addr)
            grpc.channel_ready_future(channel).result(timeout=120)
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.time() + 60
            for name in SERVICES:
                while True:
                    try:
                        status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
                        break
                    except grpc.RpcError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.5)
                if status != health_pb2.HealthCheckResponse.SERVING:
                    print(f"FAIL {name}: {status}")
                    return 1
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
            listed = {s.name for r in responses for s in r.list_services_response.service}
            missing = [s for s in SERVICES if s not in listed]
            if missing:
                print(f"FAIL reflection does not list {missing}")
                return 1
            print(f"smoke: {len(SERVICES)} services SERVING and listed by reflection")
            return 0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                print("FAIL civil serve did not stop within 30 s of SIGTERM")
                return 1


if __name__ == "__main__":
    sys.exit(main())
