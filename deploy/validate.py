"""Checks for deploy/, run by deploy/validate.sh (which installs what they need).

    python validate.py k8s RENDERED.yaml LABEL [--versions 1.30,1.37]
    python validate.py dashboards OUT_RULES.yml DASHBOARD.json...
    python validate.py envfiles
    python validate.py dockerfile

Prints nothing and exits 0 when all is well; prints every problem found and exits 1 otherwise.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
SERVICES = ["marriage", "assistance", "funeral", "eldercare", "socialorg", "placename", "onematter"]
# Who may call whom over gRPC besides the portal's gateway (DESIGN.md: funeral calls
# assistance; the aggregator calls every service).
CALLERS = {s: {"onematter"} for s in SERVICES if s != "onematter"}
CALLERS["assistance"].add("funeral")
CALLERS["onematter"] = set()
UPSTREAMS = {s: set() for s in SERVICES}
UPSTREAMS["funeral"] = {"assistance"}
UPSTREAMS["onematter"] = set(SERVICES) - {"onematter"}
GATEWAY_NS = "civil-gateway"
MONITORING_NS = "monitoring"
# Custom resources: no schema bundled with kubernetes-validate; checked by hand below.
SKIP_SCHEMA = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("external-secrets.io/v1", "ExternalSecret"),
}
# Every image of a deployable overlay comes through this registry (components/registry).
REGISTRY_PREFIX = "registry.county.example/"
# Created outside kustomize (README.md, "Secrets"), or by the CloudNativePG operator.
EXTERNAL_SECRETS = {"civil-pg-app", "civil-redis", "civil-pii", "civil-backup-s3"} | {f"civil-token-{s}" for s in SERVICES}
EXTERNAL_CONFIGMAPS = {"civil-jwks"}
OVERLAY_EXPECT = {
    # label: (service replicas, hpa min, hpa max, pdb field, pdb value, postgres instances)
    "single-county": (1, 1, 2, "maxUnavailable", 1, 1),
    "production": (3, 3, 10, "minAvailable", 2, 3),
}

problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)


def finish() -> None:
    if problems:
        for p in problems:
            print(f"  - {p}")
        sys.exit(1)


# ------------------------------------------------------------------ sources of truth


@functools.cache
def health_names() -> dict[str, str]:
    """civil.<svc>.v1.<Service> per service, read from the contracts."""
    names = {}
    for svc in SERVICES:
        proto = REPO / "proto" / "civil" / svc / "v1" / f"{svc}.proto"
        if not proto.exists():
            problem(f"{proto.relative_to(REPO)} missing: cannot check the health service name")
            continue
        text = proto.read_text(encoding="utf-8")
        pkg = re.search(r"^package\s+([\w.]+)\s*;", text, re.M)
        service = re.search(r"^service\s+(\w+)", text, re.M)
        if pkg and service:
            names[svc] = f"{pkg.group(1)}.{service.group(1)}"
    return names


@functools.cache
def known_settings() -> tuple[set[str], list[str]]:
    """CIVIL_* keys that kit::config understands, and the prefixes of open-ended ones."""
    text = (REPO / "crates" / "kit" / "src" / "config.rs").read_text(encoding="utf-8")
    keys = {"CIVIL_" + k.upper() for k in re.findall(r'^\s*"([a-z_]+)"\s*=>', text, re.M)}
    keys.add("CIVIL_CONFIG")
    prefixes = ["CIVIL_UPSTREAM_"] + [f"CIVIL_{s.upper()}_" for s in SERVICES]
    return keys, prefixes


def check_env_keys(where: str, keys: list[str]) -> None:
    known, prefixes = known_settings()
    for key in keys:
        if key.startswith("CIVIL_"):
            if key not in known and not any(key.startswith(p) for p in prefixes):
                problem(f"{where}: {key} is not a setting kit::config knows (a typo lands in `extra`)")
        elif not (key.startswith("OTEL_") or key in {"RUST_LOG", "POD_NAME", "POD_NAMESPACE", "K8S_APP_NAME"}):
            problem(f"{where}: unexpected variable {key}")


def parse_env_file(path: Path) -> dict[str, str]:
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", s)
        if not m:
            problem(f"{path.relative_to(REPO)}:{n}: not KEY=value: {line!r}")
            continue
        out[m.group(1)] = m.group(2)
    return out


# ------------------------------------------------------------------ kubernetes


def k8s(rendered: str, label: str, versions: list[str]) -> None:
    import yaml
    import kubernetes_validate.utils as kv

    # The library re-reads the (large) definitions file for every object: read each once.
    kv.schema_contents = functools.cache(kv.schema_contents)

    docs = [d for d in yaml.safe_load_all(Path(rendered).read_text(encoding="utf-8")) if d]
    if not docs:
        problem(f"{label}: rendered nothing")
        return
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        kind, name = d.get("kind"), d.get("metadata", {}).get("name")
        if (kind, name) in {(k, n) for k, names in by_kind.items() for n in names}:
            problem(f"{label}: {kind}/{name} appears twice")
        by_kind.setdefault(kind, {})[name] = d
        if (d.get("apiVersion"), kind) in SKIP_SCHEMA:
            continue
        for v in versions:
            try:
                kv.validate(d, v, strict=True)
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                problem(f"{label}: {kind}/{name} invalid for Kubernetes {v}: {path}: {e.message}")
            except kv.SchemaNotFoundError:
                problem(f"{label}: {kind}/{name}: no schema for {d.get('apiVersion')} in Kubernetes {v} "
                        "(a custom resource? add it to SKIP_SCHEMA)")

    get = lambda kind, name: by_kind.get(kind, {}).get(name)  # noqa: E731
    configmaps = set(by_kind.get("ConfigMap", {}))
    secrets = set(by_kind.get("Secret", {}))

    # Every pod must pass the namespace's restricted Pod Security Standard.
    for kind in ("Deployment", "StatefulSet"):
        for name, obj in by_kind.get(kind, {}).items():
            check_pod_security(label, f"{kind}/{name}", obj["spec"]["template"]["spec"])
            check_references(label, f"{kind}/{name}", obj["spec"]["template"]["spec"], configmaps, secrets)

    civil_config = next((cm for n, cm in by_kind.get("ConfigMap", {}).items() if n.startswith("civil-config")), None)
    if civil_config is None:
        problem(f"{label}: no civil-config ConfigMap")
        config = {}
    else:
        config = civil_config.get("data", {})
        check_env_keys(f"{label}: ConfigMap civil-config", list(config))
        for key, want in (("CIVIL_LISTEN", "0.0.0.0:50051"), ("CIVIL_METRICS_LISTEN", "0.0.0.0:9464")):
            if config.get(key) != want:
                problem(f"{label}: civil-config {key}={config.get(key)!r}, want {want}")
        if not config.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").startswith("http://otel-collector:4317"):
            problem(f"{label}: civil-config OTEL_EXPORTER_OTLP_ENDPOINT should point at the collector")

    expect = OVERLAY_EXPECT.get(label)
    for svc in SERVICES:
        dep, service, hpa, pdb, netpol = (get(k, svc) for k in
                                          ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"))
        for kind, obj in (("Deployment", dep), ("Service", service), ("HorizontalPodAutoscaler", hpa),
                          ("PodDisruptionBudget", pdb), ("NetworkPolicy", netpol)):
            if obj is None:
                problem(f"{label}: {svc}: no {kind}")
        if dep is None:
            continue
        where = f"{label}: Deployment/{svc}"
        pod = dep["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        spec = pod["spec"]
        c = next((c for c in spec["containers"] if c["name"] == "civil"), None)
        if c is None:
            problem(f"{where}: no container `civil`")
            continue
        if c.get("args") != ["serve", svc]:
            problem(f"{where}: args {c.get('args')}, want ['serve', '{svc}']")
        health = health_names().get(svc)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            grpc = (c.get(probe) or {}).get("grpc") or {}
            if grpc.get("port") != 50051 or grpc.get("service") != health:
                problem(f"{where}: {probe} should be grpc port 50051 service {health}, is {c.get(probe)}")
        if not spec.get("terminationGracePeriodSeconds"):
            problem(f"{where}: no terminationGracePeriodSeconds")
        for kind in ("requests", "limits"):
            res = (c.get("resources") or {}).get(kind) or {}
            if not {"cpu", "memory"} <= set(res):
                problem(f"{where}: resources.{kind} needs cpu and memory")
        if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
            problem(f"{where}: readOnlyRootFilesystem is not set")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
            problem(f"{where}: /tmp is not an emptyDir")
        env = {e["name"]: e for e in c.get("env", [])}
        for key, secret in (("CIVIL_DATABASE_URL", "civil-pg-app"), ("CIVIL_REDIS_URL", "civil-redis"), ("CIVIL_PII_KEY", "civil-pii")):
            ref = env.get(key, {}).get("valueFrom", {}).get("secretKeyRef", {})
            if ref.get("name") != secret:
                problem(f"{where}: {key} should come from Secret {secret}")
        for key, mount, source in (("CIVIL_JWKS_FILE", "/etc/civil/jwks", "configMap"),
                                   ("CIVIL_SERVICE_TOKEN_FILE", "/etc/civil/token", "secret")):
            value = env.get(key, {}).get("value", "")
            vol = volumes.get(mounts.get(mount, ""), {})
            if not value.startswith(mount + "/") or source not in vol:
                problem(f"{where}: {key} should be a file under {mount}, mounted from a {source}")
        token = volumes.get(mounts.get("/etc/civil/token", ""), {}).get("secret", {}).get("secretName")
        if token != f"civil-token-{svc}":
            problem(f"{where}: service token from {token}, want civil-token-{svc}")
        ups = {k[len("CIVIL_UPSTREAM_"):].lower(): e.get("value") for k, e in env.items() if k.startswith("CIVIL_UPSTREAM_")}
        if set(ups) != UPSTREAMS[svc]:
            problem(f"{where}: upstreams {sorted(ups)}, want {sorted(UPSTREAMS[svc])}")
        for up, url in ups.items():
            if url != f"http://{up}:50051" or get("Service", up) is None:
                problem(f"{where}: CIVIL_UPSTREAM_{up.upper()}={url}, want http://{up}:50051 (a Service)")
        if not any(e.get("configMapRef", {}).get("name", "").startswith("civil-config") for e in c.get("envFrom", [])):
            problem(f"{where}: env is not taken from ConfigMap civil-config")
        check_env_keys(where, list(env))

        if service is not None:
            sel = service["spec"].get("selector", {})
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                problem(f"{label}: Service/{svc} selector {sel} does not select the pods")
            ports = {p["port"]: p for p in service["spec"].get("ports", [])}
            if ports.get(50051, {}).get("name") != "grpc" or ports.get(9464, {}).get("name") != "metrics":
                problem(f"{label}: Service/{svc} needs grpc 50051 and metrics 9464")
        if hpa is not None:
            ref = hpa["spec"]["scaleTargetRef"]
            if (ref.get("kind"), ref.get("name")) != ("Deployment", svc):
                problem(f"{label}: HPA/{svc} targets {ref}")
            if not any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", [])):
                problem(f"{label}: HPA/{svc} does not scale on CPU")
        if pdb is not None:
            sel = pdb["spec"].get("selector", {}).get("matchLabels", {})
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                problem(f"{label}: PDB/{svc} selector {sel} does not select the pods")
        if netpol is not None:
            check_netpol(label, svc, netpol, labels)
        if expect and hpa is not None and pdb is not None:
            replicas, hmin, hmax, pfield, pvalue, _ = expect
            got = (dep["spec"].get("replicas"), hpa["spec"].get("minReplicas"), hpa["spec"].get("maxReplicas"), pdb["spec"].get(pfield))
            if got != (replicas, hmin, hmax, pvalue):
                problem(f"{label}: {svc}: replicas/HPA min/HPA max/PDB {pfield} = {got}, want {(replicas, hmin, hmax, pvalue)}")
            if label == "production" and "maxUnavailable" in pdb["spec"]:
                problem(f"{label}: PDB/{svc} has both minAvailable and maxUnavailable")

    cluster = get("Cluster", "civil-pg")
    if cluster is None:
        problem(f"{label}: no CloudNativePG Cluster civil-pg")
    else:
        spec = cluster.get("spec", {})
        if cluster.get("apiVersion") != "postgresql.cnpg.io/v1":
            problem(f"{label}: Cluster apiVersion {cluster.get('apiVersion')}")
        if spec.get("bootstrap", {}).get("initdb", {}).get("owner") != "civil":
            problem(f"{label}: Cluster bootstrap.initdb.owner should be civil (Secret civil-pg-app)")
        if not spec.get("storage", {}).get("size"):
            problem(f"{label}: Cluster has no storage size")
        if expect and spec.get("instances") != expect[5]:
            problem(f"{label}: Cluster instances {spec.get('instances')}, want {expect[5]}")
        conns = int(spec.get("postgresql", {}).get("parameters", {}).get("max_connections", "100"))
        pool = int(config.get("CIVIL_DB_MAX_CONNECTIONS", "8"))
        hmax = max((h["spec"].get("maxReplicas", 0) for n, h in by_kind.get("HorizontalPodAutoscaler", {}).items() if n in SERVICES), default=0)
        if len(SERVICES) * hmax * pool > conns - 10:
            problem(f"{label}: 7 services x {hmax} replicas x {pool} connections exceeds max_connections {conns} (less 10 reserved)")

    check_backups(label, get, by_kind)
    check_migration_job(label, get, by_kind, configmaps, secrets)
    if label in OVERLAY_EXPECT:
        check_images(label, docs)
    if label == "production":
        monitors = set(by_kind.get("PodMonitor", {}))
        for want in ("civil-suite", "civil-pg", "redis"):
            if want not in monitors:
                problem(f"{label}: no PodMonitor {want}")
        synced = set(by_kind.get("ExternalSecret", {}))
        missing = EXTERNAL_SECRETS - {"civil-pg-app"} - synced
        if missing:
            problem(f"{label}: Secrets without an ExternalSecret: {sorted(missing)}")

    redis = get("StatefulSet", "redis")
    if redis is None:
        problem(f"{label}: no Redis StatefulSet")
    else:
        conf = next((cm for n, cm in by_kind.get("ConfigMap", {}).items() if n.startswith("redis-config")), {})
        text = conf.get("data", {}).get("redis.conf", "")
        for line in ("appendonly yes", "maxmemory-policy noeviction", "dir /data"):
            if line not in text:
                problem(f"{label}: redis.conf lacks `{line}`")
        if not redis["spec"].get("volumeClaimTemplates"):
            problem(f"{label}: Redis has no PersistentVolumeClaim")

    otel = get("Deployment", "otel-collector")
    otel_conf = next((cm for n, cm in by_kind.get("ConfigMap", {}).items() if n.startswith("otel-collector-config")), None)
    if otel is None or otel_conf is None or get("Service", "otel-collector") is None:
        problem(f"{label}: OpenTelemetry Collector Deployment, Service or config missing")
    else:
        cfg = yaml.safe_load(otel_conf["data"]["config.yaml"])
        pipe = cfg.get("service", {}).get("pipelines", {}).get("traces", {})
        if pipe.get("receivers") != ["otlp"] or "batch" not in pipe.get("processors", []) or pipe.get("exporters") != ["otlp"]:
            problem(f"{label}: collector traces pipeline should be otlp -> ... batch -> otlp, is {pipe}")
        for section in ("receivers", "processors", "exporters", "extensions"):
            used = set(pipe.get(section, [])) if section != "extensions" else set(cfg.get("service", {}).get("extensions", []))
            missing = used - set(cfg.get(section) or {})
            if missing:
                problem(f"{label}: collector uses undefined {section} {sorted(missing)}")
        endpoint = cfg.get("exporters", {}).get("otlp", {}).get("endpoint", "")
        host = endpoint.split(":")[0]
        if label == "single-county" and get("Service", host) is None:
            problem(f"{label}: collector exports to {endpoint}, but there is no Service {host}")
    if label == "single-county" and get("Deployment", "jaeger") is None:
        problem(f"{label}: no Jaeger all-in-one")



def check_images(label: str, docs: list[dict]) -> None:
    """No image of a deployable overlay bypasses the county's registry prefix."""
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("image", "imageName") and isinstance(v, str) and not v.startswith(REGISTRY_PREFIX):
                    yield path + "." + k, v
                else:
                    yield from walk(v, path + "." + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{path}[{i}]")
    for d in docs:
        for where, image in walk(d, ""):
            problem(f"{label}: {d.get('kind')}/{d.get('metadata', {}).get('name')}{where} = {image} "
                    f"bypasses the registry prefix {REGISTRY_PREFIX}")


def check_backups(label: str, get, by_kind: dict) -> None:
    """PostgreSQL archives WAL and takes scheduled base backups to the object store."""
    cluster = get("Cluster", "civil-pg") or {}
    plugins = cluster.get("spec", {}).get("plugins", [])
    archiver = next((p for p in plugins if p.get("name") == "barman-cloud.cloudnative-pg.io"), None)
    if archiver is None or not archiver.get("isWALArchiver"):
        problem(f"{label}: Cluster civil-pg does not archive WAL through the Barman Cloud plugin")
        return
    store = archiver.get("parameters", {}).get("barmanObjectName")
    obj = get("ObjectStore", store)
    if obj is None:
        problem(f"{label}: Cluster civil-pg names ObjectStore {store}, which is not rendered")
    elif not obj.get("spec", {}).get("retentionPolicy"):
        problem(f"{label}: ObjectStore {store} has no retentionPolicy")
    scheduled = [b for b in by_kind.get("ScheduledBackup", {}).values()
                 if b.get("spec", {}).get("cluster", {}).get("name") == "civil-pg"]
    if not scheduled:
        problem(f"{label}: no ScheduledBackup for civil-pg")
    for b in scheduled:
        if b["spec"].get("method") != "plugin":
            problem(f"{label}: ScheduledBackup {b['metadata']['name']} should use method plugin")


def check_migration_job(label: str, get, by_kind: dict, configmaps: set[str], secrets: set[str]) -> None:
    """One `civil migrate` Job per release, with the services' image and database."""
    job = get("Job", "civil-migrate")
    if job is None:
        problem(f"{label}: no Job civil-migrate")
        return
    spec = job["spec"]["template"]["spec"]
    check_pod_security(label, "Job/civil-migrate", spec)
    check_references(label, "Job/civil-migrate", spec, configmaps, secrets)
    c = spec["containers"][0]
    if c.get("args") != ["migrate"]:
        problem(f"{label}: Job/civil-migrate args {c.get('args')}, want ['migrate']")
    dep = get("Deployment", "marriage")
    if dep is not None and dep["spec"]["template"]["spec"]["containers"][0].get("image") != c.get("image"):
        problem(f"{label}: Job/civil-migrate image differs from the services'")
    env = {e["name"]: e for e in c.get("env", [])}
    if env.get("CIVIL_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("name") != "civil-pg-app":
        problem(f"{label}: Job/civil-migrate should take CIVIL_DATABASE_URL from Secret civil-pg-app")

def check_pod_security(label: str, where: str, spec: dict) -> None:
    psc = spec.get("securityContext", {})
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(f"{label}: {where}: pod seccompProfile should be RuntimeDefault")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            problem(f"{label}: {where}/{c['name']}: runAsNonRoot is not set")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(f"{label}: {where}/{c['name']}: allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(f"{label}: {where}/{c['name']}: capabilities must drop ALL")
        if not sc.get("readOnlyRootFilesystem"):
            problem(f"{label}: {where}/{c['name']}: readOnlyRootFilesystem is not set")
        if not {"cpu", "memory"} <= set(c.get("resources", {}).get("limits", {})):
            problem(f"{label}: {where}/{c['name']}: no cpu/memory limits")


def check_references(label: str, where: str, spec: dict, configmaps: set[str], secrets: set[str]) -> None:
    def cm(name: str) -> None:
        if name not in configmaps and name not in EXTERNAL_CONFIGMAPS:
            problem(f"{label}: {where} refers to ConfigMap {name}, which is neither rendered nor documented as external")

    def sec(name: str) -> None:
        if name not in secrets and name not in EXTERNAL_SECRETS:
            problem(f"{label}: {where} refers to Secret {name}, which is neither rendered nor documented as external")

    for v in spec.get("volumes", []):
        if "configMap" in v:
            cm(v["configMap"]["name"])
        if "secret" in v:
            sec(v["secret"]["secretName"])
    for c in spec.get("containers", []):
        for e in c.get("envFrom", []):
            if "configMapRef" in e:
                cm(e["configMapRef"]["name"])
            if "secretRef" in e:
                sec(e["secretRef"]["name"])
        for e in c.get("env", []):
            vf = e.get("valueFrom", {})
            if "configMapKeyRef" in vf:
                cm(vf["configMapKeyRef"]["name"])
            if "secretKeyRef" in vf:
                sec(vf["secretKeyRef"]["name"])


def check_netpol(label: str, svc: str, netpol: dict, labels: dict) -> None:
    where = f"{label}: NetworkPolicy/{svc}"
    spec = netpol["spec"]
    sel = spec.get("podSelector", {}).get("matchLabels", {})
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        problem(f"{where}: podSelector {sel} does not select the pods")
    if spec.get("policyTypes") != ["Ingress"]:
        problem(f"{where}: policyTypes should be [Ingress]")
    allowed: dict[int, tuple[set[str], set[str], bool]] = {}
    for rule in spec.get("ingress", []):
        ports = [p.get("port") for p in rule.get("ports", [])]
        if not ports:
            problem(f"{where}: a rule without ports opens every port")
        peers = rule.get("from")
        if not peers:
            problem(f"{where}: a rule without `from` admits everyone")
            continue
        pods, namespaces, other = set(), set(), False
        for peer in peers:
            if "podSelector" in peer and "namespaceSelector" not in peer:
                pods.add(peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name", "?"))
            elif "namespaceSelector" in peer and "podSelector" not in peer:
                namespaces.add(peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name", "?"))
            else:
                other = True
        for port in ports:
            p, n, o = allowed.setdefault(port, (set(), set(), False))
            allowed[port] = (p | pods, n | namespaces, o or other)
    if set(allowed) != {50051, 9464}:
        problem(f"{where}: opens ports {sorted(allowed, key=str)}, want 50051 and 9464")
    pods, namespaces, other = allowed.get(50051, (set(), set(), False))
    if pods != CALLERS[svc] or namespaces != {GATEWAY_NS} or other:
        problem(f"{where}: gRPC from pods {sorted(pods)} namespaces {sorted(namespaces)}, "
                f"want pods {sorted(CALLERS[svc])} and namespace {GATEWAY_NS}")
    pods, namespaces, other = allowed.get(9464, (set(), set(), False))
    if pods or namespaces != {MONITORING_NS} or other:
        problem(f"{where}: metrics from pods {sorted(pods)} namespaces {sorted(namespaces)}, want namespace {MONITORING_NS} only")


# ------------------------------------------------------------------ dashboards


GRAFANA_VARS = [
    ("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h"),
    ("$service", ".*"), ("$method", ".*"), ("$step", ".*"),
]


def dashboards(out_rules: str, files: list[str]) -> None:
    """Structure checks; every PromQL expression goes to a rules file for `promtool check rules`."""
    uids = set()
    rules = []
    for f in files:
        d = json.loads(Path(f).read_text(encoding="utf-8"))
        name = Path(f).name
        if d.get("uid") in uids or not d.get("uid"):
            problem(f"{name}: missing or duplicate uid")
        uids.add(d.get("uid"))
        if not 36 <= d.get("schemaVersion", 0) <= 41:
            problem(f"{name}: schemaVersion {d.get('schemaVersion')}")
        variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        if variables.get("datasource", {}).get("type") != "datasource" or variables["datasource"].get("query") != "prometheus":
            problem(f"{name}: no Prometheus data source variable `datasource`")
        ids = set()
        for p in d.get("panels", []):
            if p["id"] in ids:
                problem(f"{name}: duplicate panel id {p['id']}")
            ids.add(p["id"])
            if p.get("type") == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                problem(f"{name}: panel {p.get('title')!r} does not use the datasource variable")
            for t in p.get("targets", []):
                expr = t.get("expr", "")
                if not expr:
                    problem(f"{name}: panel {p.get('title')!r} has an empty query")
                for var in re.findall(r"\$\w+", expr):
                    if var not in dict(GRAFANA_VARS):
                        problem(f"{name}: panel {p.get('title')!r} uses unknown variable {var}")
                for var, value in GRAFANA_VARS:
                    expr = expr.replace(var, value)
                rules.append({"record": f"dashboard:{len(rules)}", "expr": expr})
    Path(out_rules).write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")


# ------------------------------------------------------------------ env files and Dockerfile


def envfiles() -> None:
    systemd = DEPLOY / "systemd"
    base = parse_env_file(systemd / "civil.env")
    check_env_keys("systemd/civil.env", list(base))
    for key in ("CIVIL_DATABASE_URL", "CIVIL_REDIS_URL", "CIVIL_PII_KEY"):
        if key not in base:
            problem(f"systemd/civil.env: {key} is not documented")
    ports = {}
    for svc in SERVICES:
        path = systemd / "instances" / f"{svc}.env"
        if not path.exists():
            problem(f"systemd/instances/{svc}.env missing")
            continue
        env = parse_env_file(path)
        check_env_keys(f"systemd/instances/{svc}.env", list(env))
        listen = env.get("CIVIL_LISTEN", "")
        ports[svc] = listen.rsplit(":", 1)[-1]
        ups = {k[len("CIVIL_UPSTREAM_"):].lower(): v for k, v in env.items() if k.startswith("CIVIL_UPSTREAM_")}
        if set(ups) != UPSTREAMS[svc]:
            problem(f"systemd/instances/{svc}.env: upstreams {sorted(ups)}, want {sorted(UPSTREAMS[svc])}")
        for key in ("CIVIL_LISTEN", "CIVIL_METRICS_LISTEN"):
            if key not in env:
                problem(f"systemd/instances/{svc}.env: no {key}")
    if len(set(ports.values())) != len(ports):
        problem(f"systemd/instances: two services share a port: {ports}")
    for svc in SERVICES:
        path = systemd / "instances" / f"{svc}.env"
        if path.exists():
            for up, url in ((k[len("CIVIL_UPSTREAM_"):].lower(), v) for k, v in parse_env_file(path).items() if k.startswith("CIVIL_UPSTREAM_")):
                if not url.endswith(":" + ports.get(up, "?")):
                    problem(f"systemd/instances/{svc}.env: CIVIL_UPSTREAM_{up.upper()}={url}, but {up} listens on {ports.get(up)}")
    k8s_env = parse_env_file(DEPLOY / "kubernetes" / "base" / "civil.env")
    check_env_keys("kubernetes/base/civil.env", list(k8s_env))


def dockerfile() -> None:
    import dockerfile as df

    path = DEPLOY / "Dockerfile"
    cmds = df.parse_file(str(path))
    froms = [c for c in cmds if c.cmd == "FROM"]
    if len(froms) < 2:
        problem("Dockerfile: not multi-stage")
    args = {c.value[0].split("=", 1)[0]: c.value[0].split("=", 1)[1] for c in cmds if c.cmd == "ARG" and "=" in c.value[0]}
    images = [args.get(f.value[0].strip("${}"), f.value[0]) for f in froms]
    if not images[0].startswith("rust:1-bookworm"):
        problem(f"Dockerfile: builder is {images[0]}, want rust:1-bookworm")
    if images[-1] not in ("gcr.io/distroless/cc-debian12:nonroot", "debian:bookworm-slim"):
        problem(f"Dockerfile: runtime is {images[-1]}")
    run = " ".join(" ".join(c.value) for c in cmds if c.cmd == "RUN")
    if "cargo build --release" not in run or "-p suite" not in run:
        problem("Dockerfile: does not run `cargo build --release -p suite`")
    for d in ("data/calendar", "data/regions"):
        if d not in run and not any(c.cmd == "COPY" and d in " ".join(c.value) for c in cmds):
            problem(f"Dockerfile: does not copy {d}")
        if not any((REPO / d).glob("*.csv")):
            problem(f"Dockerfile copies {d}, which has no CSV files")
    user = [c.value[0] for c in cmds if c.cmd == "USER"]
    if not user or user[-1].split(":")[0] in ("0", "root"):
        problem("Dockerfile: the runtime stage must set a non-root USER")
    entry = [c for c in cmds if c.cmd == "ENTRYPOINT"]
    if not entry or not entry[-1].json or not entry[-1].value[0].endswith("/civil"):
        problem("Dockerfile: ENTRYPOINT should be the civil binary (exec form)")
    cargo = (REPO / "services" / "suite" / "Cargo.toml").read_text(encoding="utf-8")
    if 'name = "suite"' not in cargo or not re.search(r'\[\[bin\]\]\s*\nname = "civil"', cargo):
        problem("services/suite/Cargo.toml: package suite with a [[bin]] named civil expected")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for line in ignore:
        if line.startswith("data") and ("calendar" in line or "regions" in line or line in ("data", "data/")):
            problem(f"Dockerfile.dockerignore excludes reference data: {line}")


def main() -> None:
    cmd, *rest = sys.argv[1:] or ["help"]
    if cmd == "k8s":
        versions = ["1.30", "1.37"]
        if "--versions" in rest:
            i = rest.index("--versions")
            versions = rest[i + 1].split(",")
            rest = rest[:i] + rest[i + 2:]
        k8s(rest[0], rest[1], versions)
    elif cmd == "dashboards":
        dashboards(rest[0], rest[1:])
    elif cmd == "envfiles":
        envfiles()
    elif cmd == "dockerfile":
        dockerfile()
    else:
        print(__doc__)
        sys.exit(2)
    finish()


if __name__ == "__main__":
    main()
