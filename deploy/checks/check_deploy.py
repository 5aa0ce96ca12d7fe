#!/usr/bin/env python3
"""Offline checks of the deployment files under deploy/ (run by
scripts/test.d/60-deploy.sh from the repository root).

  check_deploy.py kubernetes          render base and overlays with `kubectl kustomize`;
                                      validate core objects (kubernetes-validate, strict)
                                      and the ServiceMonitor / PrometheusRule against the
                                      prometheus-operator CRD schemas in crds/; check that
                                      the objects agree with each other and with
                                      prometheus/alerts.yml and the dashboard file
  check_deploy.py compose             the compose file's mounts exist; lay out the files
                                      each container sees, run promtool check config on
                                      Prometheus's, and follow Grafana's provisioning to
                                      the dashboard file
  check_deploy.py systemd BINARY      run the unit's ExecStart (binary replaced by BINARY)
                                      with `check-config` appended, in the environment
                                      the unit gives it
  check_deploy.py socket BINARY       start BINARY --demo under systemd-socket-activate
                                      with two loopback sockets: it serves /metrics on
                                      both and ignores --web.listen-address

Every problem is printed on its own line; the exit code is 1 if there was one.
"""

import copy
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils as kubernetes_schemas
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZE_DIRS = [DEPLOY / "kubernetes" / "base", DEPLOY / "kubernetes" / "overlays" / "example"]
CRDS = Path(__file__).resolve().parent / "crds"
ALERTS = ROOT / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "grafana" / "dashboards" / "genesys-cloud-queues.json"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
UNIT = DEPLOY / "systemd" / "genesys_exporter.service"
UNIT_ENV = DEPLOY / "systemd" / "genesys_exporter.env"
# Kubernetes versions the manifests are validated against: all the validator
# knows from this one on.
OLDEST_KUBERNETES = (1, 30)

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def alerts_job():
    """The job label value the alert rules select (one value everywhere)."""
    text = ALERTS.read_text(encoding="utf-8")
    jobs = {part.split('"', 1)[0] for part in text.split('job="')[1:]}
    if len(jobs) != 1:
        problem(ALERTS.name, f"expected one job name in the rules, found {sorted(jobs)}")
    return next(iter(jobs), None)


# ---------------------------------------------------------------- Kubernetes


def kustomize(directory):
    kubectl = os.environ.get("KUBECTL", "kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        problem(directory.relative_to(ROOT), f"kubectl kustomize failed: {out.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def strict(schema):
    """A copy of a CRD's structural schema that rejects unknown fields, as the
    API server's strict field validation does (it would otherwise prune them)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas():
    """(apiVersion, kind) -> strict schema, from the vendored CRDs."""
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = load_yaml(path)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            out[(f"{group}/{version['name']}", kind)] = schema
    return out


def kubernetes_versions():
    versions = []
    for v in kubernetes_schemas.all_versions():
        parts = tuple(int(p) for p in v.split(".")[:2])
        if parts >= OLDEST_KUBERNETES:
            versions.append(v)
    return versions


def validate_objects(where, objects, crds, versions):
    for obj in objects:
        name = f"{where} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in crds:
            validator = jsonschema.Draft7Validator(crds[key])
            for err in validator.iter_errors(obj):
                path = ".".join(str(p) for p in err.absolute_path)
                problem(name, f"CRD schema: {path}: {err.message}")
            # The CRD schema leaves metadata open; check it as ObjectMeta.
            meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata", {})}
            targets = [(meta, "metadata as ObjectMeta")]
        else:
            targets = [(obj, "schema")]
        for data, what in targets:
            for version in versions:
                try:
                    kubernetes_validate.validate(data, version, strict=True)
                except kubernetes_validate.ValidationError as err:
                    path = ".".join(str(p) for p in err.path)
                    problem(name, f"Kubernetes {version} {what}: {path}: {err.message}")
                    break
                except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as err:
                    problem(name, f"Kubernetes {version}: no schema: {err}")
                    break


def one(objects, kind, where, pred=lambda o: True):
    found = [o for o in objects if o.get("kind") == kind and pred(o)]
    if len(found) != 1:
        problem(where, f"expected one {kind}, found {len(found)}")
        return None
    return found[0]


def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def port_matches(ref, name, number):
    return ref == name or ref == number


def quantity(text):
    """CPU cores or bytes of a Kubernetes quantity (the suffixes used here)."""
    text = str(text)
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * suffixes[suffix]
    return float(text)


def check_kubernetes_set(where, objects, job):
    deployment = one(objects, "Deployment", where)
    service = one(objects, "Service", where)
    monitor = one(objects, "ServiceMonitor", where)
    rule = one(objects, "PrometheusRule", where)
    policy = one(objects, "NetworkPolicy", where)
    dashboard = one(
        objects, "ConfigMap", where, lambda o: "grafana_dashboard" in o["metadata"].get("labels", {})
    )
    settings = one(objects, "ConfigMap", where, lambda o: o["metadata"]["name"].startswith("genesys-exporter-settings"))
    if None in (deployment, service, monitor, rule, policy, dashboard, settings):
        return
    namespaces = {o["metadata"].get("namespace") for o in objects}
    if len(namespaces) != 1:
        problem(where, f"objects in several namespaces: {namespaces}")

    # The rule and the dashboard are their sources, unchanged.
    if rule["spec"].get("groups") != load_yaml(ALERTS).get("groups"):
        problem(where, "PrometheusRule spec.groups differ from prometheus/alerts.yml")
    if dashboard["data"].get(DASHBOARD.name) != DASHBOARD.read_text(encoding="utf-8"):
        problem(where, f"dashboard ConfigMap data differs from {DASHBOARD.relative_to(ROOT)}")
    if dashboard["metadata"]["labels"].get("grafana_dashboard") != "1":
        problem(where, 'dashboard ConfigMap must be labelled grafana_dashboard: "1"')
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rule["spec"], f)
    out = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True, check=False)
    os.unlink(f.name)
    if out.returncode != 0:
        problem(where, f"promtool check rules of the PrometheusRule: {out.stdout}{out.stderr}")

    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels", {})
    if spec.get("replicas") != 1:
        problem(where, "the Deployment must run one replica per org")
    if spec.get("strategy", {}).get("type") != "Recreate":
        problem(where, "the Deployment must use strategy Recreate (one poller at a time)")
    if not subset(spec["selector"].get("matchLabels", {}), pod_labels):
        problem(where, "Deployment selector does not select its pod template")
    containers = pod.get("containers", [])
    if len(containers) != 1:
        problem(where, "expected one container")
        return
    c = containers[0]
    ports = [p for p in c.get("ports", []) if p.get("name") == "metrics"]
    if len(ports) != 1:
        problem(where, "the container needs one port named metrics")
        return
    number = ports[0]["containerPort"]
    config = settings.get("data", {})
    tls = "GENESYS_EXPORTER_WEB_CONFIG_FILE" in config
    scheme = "HTTPS" if tls else "HTTP"
    for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or not port_matches(get.get("port"), "metrics", number):
            problem(where, f"{probe} must GET {path} on the metrics port, got {get}")
        if get.get("scheme", "HTTP") != scheme:
            problem(where, f"{probe} scheme must be {scheme} (web config {'on' if tls else 'off'})")
    if config.get("GENESYS_EXPORTER_WEB_TELEMETRY_PATH", "/metrics") != "/metrics":
        problem(where, "the ServiceMonitor path assumes /metrics")

    # Security context as the issue lists it.
    pod_sc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    if not (pod_sc.get("runAsNonRoot") or sc.get("runAsNonRoot")):
        problem(where, "runAsNonRoot must be true")
    if 0 in (pod_sc.get("runAsUser"), sc.get("runAsUser")):
        problem(where, "runAsUser must not be 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(where, "readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(where, "allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        problem(where, "the container must not be privileged")
    caps = sc.get("capabilities", {})
    if caps.get("drop") != ["ALL"] or caps.get("add"):
        problem(where, "capabilities: drop must be [ALL] and nothing added")
    if pod.get("automountServiceAccountToken") is not False:
        problem(where, "the exporter needs no service account token")
    res = c.get("resources", {})
    for kind in ("cpu", "memory"):
        req, lim = res.get("requests", {}).get(kind), res.get("limits", {}).get(kind)
        if req is None or lim is None:
            problem(where, f"resources need a {kind} request and limit")
        elif quantity(req) > quantity(lim):
            problem(where, f"{kind} request {req} exceeds its limit {lim}")

    # Settings from the ConfigMap; the secret as a file from a Secret.
    env = {e["name"]: e for e in c.get("env", [])}
    refs = [e.get("configMapRef", {}).get("name") for e in c.get("envFrom", [])]
    if settings["metadata"]["name"] not in refs:
        problem(where, "the container does not read the settings ConfigMap")
    for key in ("GENESYS_REGION", "GENESYS_CLIENT_ID"):
        if key not in config:
            problem(where, f"settings ConfigMap lacks {key}")
    if any("SECRET" in k and k != "GENESYS_CLIENT_SECRET_FILE" for k in list(config) + list(env)):
        problem(where, "a secret is set in plain configuration; it belongs in a mounted Secret")
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    def mounted(path, source):
        """The volume of `source` kind that holds `path`, or None."""
        mount = mounts.get(str(Path(path).parent))
        if mount is None or not mount.get("readOnly"):
            return None
        volume = volumes.get(mount["name"], {})
        return volume.get(source)

    secret_file = env.get("GENESYS_CLIENT_SECRET_FILE", {}).get("value")
    secret = mounted(secret_file, "secret") if secret_file else None
    if secret is None:
        problem(where, "GENESYS_CLIENT_SECRET_FILE must name a file of a read-only Secret mount")
    elif Path(secret_file).name not in [i["path"] for i in secret.get("items", [])] and secret.get("items"):
        problem(where, f"the Secret volume does not provide {Path(secret_file).name}")
    if tls:
        web_file = config["GENESYS_EXPORTER_WEB_CONFIG_FILE"]
        source = mounted(web_file, "configMap") or mounted(web_file, "secret")
        holder = None
        if source is None:
            problem(where, "the web config file is not on a read-only ConfigMap or Secret mount")
        elif "name" in source:
            holder = next(
                (o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == source["name"]),
                None,
            )
        if holder is not None:
            web = yaml.safe_load(holder["data"].get(Path(web_file).name, "") or "{}")
            tls_conf = web.get("tls_server_config", {})
            for key in ("cert_file", "key_file"):
                if not tls_conf.get(key) or mounted(tls_conf[key], "secret") is None:
                    problem(where, f"web config {key} is not on a read-only Secret mount")

    # Service, ServiceMonitor and NetworkPolicy agree with the pod.
    svc = service["spec"]
    if not subset(svc.get("selector", {}), pod_labels):
        problem(where, "Service selector does not select the exporter pod")
    svc_ports = [p for p in svc.get("ports", []) if port_matches(p.get("targetPort"), "metrics", number)]
    if len(svc_ports) != 1 or not svc_ports[0].get("name"):
        problem(where, "the Service needs one named port targeting the metrics port")
        return
    mon = monitor["spec"]
    if not subset(mon["selector"].get("matchLabels", {}), service["metadata"].get("labels", {})):
        problem(where, "ServiceMonitor selector does not select the Service")
    if mon.get("namespaceSelector"):
        problem(where, "ServiceMonitor must watch its own namespace")
    endpoints = mon.get("endpoints", [])
    if len(endpoints) != 1 or endpoints[0].get("port") != svc_ports[0]["name"]:
        problem(where, f"ServiceMonitor endpoint port must be the Service port {svc_ports[0]['name']!r}")
    elif endpoints[0].get("scheme", "http") != scheme.lower():
        problem(where, f"ServiceMonitor scheme must be {scheme.lower()}")
    elif endpoints[0].get("path", "/metrics") != "/metrics":
        problem(where, "ServiceMonitor path must be /metrics")
    job_label = mon.get("jobLabel")
    if job and service["metadata"].get("labels", {}).get(job_label) != job:
        problem(where, f'the scrape job must be "{job}" (alert rules): set jobLabel to a Service label with that value')
    pol = policy["spec"]
    if not subset(pol["podSelector"].get("matchLabels", {}), pod_labels):
        problem(where, "NetworkPolicy does not select the exporter pod")
    if pol.get("policyTypes") != ["Ingress"] or len(pol.get("ingress", [])) != 1:
        problem(where, "NetworkPolicy must restrict ingress with one rule")
    else:
        rule_in = pol["ingress"][0]
        if not any(port_matches(p.get("port"), "metrics", number) for p in rule_in.get("ports", [])):
            problem(where, "NetworkPolicy does not open the metrics port")
        if not rule_in.get("from") or any(
            "prometheus" not in json.dumps(peer.get("podSelector", {})) for peer in rule_in["from"]
        ):
            problem(where, "NetworkPolicy must admit only Prometheus pods")


def check_kubernetes():
    crds = crd_schemas()
    versions = kubernetes_versions()
    if not versions:
        problem("kubernetes-validate", "knows no Kubernetes version to validate against")
    job = alerts_job()
    for directory in KUSTOMIZE_DIRS:
        where = str(directory.relative_to(ROOT))
        objects = kustomize(directory)
        if not objects:
            continue
        validate_objects(where, objects, crds, versions)
        check_kubernetes_set(where, objects, job)
        print(f"check_deploy: {where}: {len(objects)} objects rendered and checked "
              f"(Kubernetes {versions[0]}..{versions[-1]})")


# ------------------------------------------------------------------- compose


def lay_out(service, base, where):
    """Copies what a service's bind mounts show into a temporary root; returns it."""
    root = Path(tempfile.mkdtemp())
    for volume in service.get("volumes", []):
        if not isinstance(volume, str):
            problem(where, f"use the short volume syntax: {volume}")
            continue
        parts = volume.split(":")
        if len(parts) != 3 or parts[2] != "ro":
            problem(where, f"mount {volume} must be SOURCE:TARGET:ro")
            continue
        source = (base / parts[0]).resolve()
        target = root / parts[1].lstrip("/")
        if not source.exists():
            problem(where, f"mounted file {parts[0]} does not exist")
            continue
        if ROOT not in source.parents:
            problem(where, f"mounted file {parts[0]} lies outside the repository")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return root


def check_compose():
    compose = load_yaml(COMPOSE)
    base = COMPOSE.parent
    where = str(COMPOSE.relative_to(ROOT))
    services = compose.get("services", {})
    for name in ("exporter", "prometheus", "grafana"):
        if name not in services:
            problem(where, f"no service {name}")
    if problems:
        return
    job = alerts_job()
    # Every service's mounts exist (Prometheus's and Grafana's are followed below).
    for name, service in services.items():
        if name not in ("prometheus", "grafana"):
            shutil.rmtree(lay_out(service, base, f"{where} {name}"))
    exporter = services["exporter"]
    if "--demo" not in exporter.get("command", []):
        problem(where, "the exporter must run with --demo")
    build = exporter.get("build", {})
    context = (base / build.get("context", ".")).resolve()
    if not (context / build.get("dockerfile", "Dockerfile")).is_file():
        problem(where, "the exporter's build context has no Dockerfile")
    exporter_ports = [str(p).split(":")[-1] for p in exporter.get("ports", [])]

    prom_root = lay_out(services["prometheus"], base, f"{where} prometheus")
    prom_config = prom_root / "etc/prometheus/prometheus.yml"
    if prom_config.is_file():
        out = subprocess.run(
            ["promtool", "check", "config", "--lint=all", "--lint-fatal", str(prom_config)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            problem(where, f"promtool check config: {out.stdout}{out.stderr}")
        else:
            print("check_deploy: compose Prometheus config and rules: " + " ".join(out.stdout.split()))
        config = load_yaml(prom_config)
        rules = [str((prom_config.parent / r).resolve()) for r in config.get("rule_files", [])]
        alerts_copy = prom_root / "etc/prometheus/alerts.yml"
        if str(alerts_copy.resolve()) not in rules or alerts_copy.read_bytes() != ALERTS.read_bytes():
            problem(where, "Prometheus must load prometheus/alerts.yml")
        jobs = [j for j in config.get("scrape_configs", []) if j.get("job_name") == job]
        targets = [t for j in jobs for s in j.get("static_configs", []) for t in s.get("targets", [])]
        if [t.split(":") for t in targets] != [["exporter", p] for p in exporter_ports[:1]]:
            problem(where, f"job {job} must scrape the exporter service on its port, got {targets}")
        interval = config.get("global", {}).get("scrape_interval")
    else:
        problem(where, "no Prometheus config is mounted at /etc/prometheus/prometheus.yml")
        interval = None
    shutil.rmtree(prom_root)

    graf_root = lay_out(services["grafana"], base, f"{where} grafana")
    providers = []
    for path in sorted((graf_root / "etc/grafana/provisioning/dashboards").glob("*.y*ml")):
        providers += [p for p in load_yaml(path).get("providers", []) if p.get("type") == "file"]
    dashboards = [graf_root / p.get("options", {}).get("path", "").lstrip("/") / DASHBOARD.name for p in providers]
    if len(dashboards) != 1 or not dashboards[0].is_file():
        problem(where, f"Grafana's dashboard provider does not lead to {DASHBOARD.name}")
    elif dashboards[0].read_bytes() != DASHBOARD.read_bytes():
        problem(where, f"Grafana's provisioned dashboard is not {DASHBOARD.relative_to(ROOT)}")
    sources = []
    for path in sorted((graf_root / "etc/grafana/provisioning/datasources").glob("*.y*ml")):
        sources += [d for d in load_yaml(path).get("datasources", []) if d.get("type") == "prometheus"]
    prom_ports = [str(p).split(":")[-1] for p in services["prometheus"].get("ports", [])]
    if len(sources) != 1 or sources[0].get("url") != f"http://prometheus:{prom_ports[0] if prom_ports else 9090}":
        problem(where, "Grafana needs one Prometheus datasource at http://prometheus:9090")
    elif sources[0].get("jsonData", {}).get("timeInterval") != interval:
        problem(where, "the datasource timeInterval must equal Prometheus's scrape_interval")
    shutil.rmtree(graf_root)
    if not problems:
        print("check_deploy: compose mounts exist; Grafana provisions the dashboard file")


# ------------------------------------------------------------------- systemd


def unit_entries(path):
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            entries.append((key.strip(), value.strip()))
    return entries


def check_systemd(binary):
    where = str(UNIT.relative_to(ROOT))
    entries = unit_entries(UNIT)
    get = lambda key: [v for k, v in entries if k == key]  # noqa: E731
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("DynamicUser", "yes")):
        if get(key) != [want]:
            problem(where, f"{key}={want} expected")
    exec_start = get("ExecStart")
    env_files = get("EnvironmentFile")
    if len(exec_start) != 1 or len(env_files) != 1 or not get("LoadCredential"):
        problem(where, "expected one ExecStart, one EnvironmentFile and a LoadCredential")
        return
    with tempfile.TemporaryDirectory() as tmp:
        creds = Path(tmp) / "credentials"
        creds.mkdir()
        for cred in get("LoadCredential"):
            name = cred.split(":", 1)[0]
            (creds / name).write_text("demo-client-secret\n", encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "CREDENTIALS_DIRECTORY": str(creds)}
        for line in UNIT_ENV.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip()
        for assignment in get("Environment"):
            for item in shlex.split(assignment):
                key, value = item.split("=", 1)
                env[key] = value.replace("%d", str(creds))
        argv = shlex.split(exec_start[0])
        argv[0] = binary
        out = subprocess.run(argv + ["check-config"], env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            problem(where, f"ExecStart + check-config exited {out.returncode}: {out.stderr.strip()}")
        elif "demo-client-secret" in out.stdout + out.stderr:
            problem(where, "check-config printed the secret")
        else:
            print(f"check_deploy: {where}: ExecStart check-config exits 0 with the unit's environment")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_up(base, deadline):
    """True once base/metrics shows genesys_up 1, before the deadline."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
                if any(line.strip() == "genesys_up 1" for line in r.read().decode().splitlines()):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def check_socket_activation(binary):
    where = "socket activation"
    ports = [free_port(), free_port()]
    listen = [arg for p in ports for arg in ("-l", f"127.0.0.1:{p}")]
    # 192.0.2.1 (TEST-NET-1) is no local address: binding it would fail, so a
    # running exporter proves the flag was not used.
    argv = ["systemd-socket-activate", *listen, binary, "--demo", "--web.listen-address", "192.0.2.1:10321"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENESYS_")}
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    printed = []

    def read():
        for line in child.stdout:
            if "listening on " in line:
                printed.append(line.split("listening on ", 1)[1].strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            if not scrape_up(base, deadline):
                problem(where, f"{base}/metrics never showed genesys_up 1 (exit {child.poll()})")
                return
        if sorted(printed) != sorted(bases):
            problem(where, f"printed {printed}, expected {bases}")
        child.terminate()
        code = child.wait(timeout=20)
        if code != 0:
            problem(where, f"exit code {code} after SIGTERM")
        else:
            print(f"check_deploy: {where}: both passed sockets serve /metrics; clean exit on SIGTERM")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def main(argv):
    if argv[1:2] == ["kubernetes"]:
        check_kubernetes()
    elif argv[1:2] == ["compose"]:
        check_compose()
    elif argv[1:2] == ["systemd"] and len(argv) == 3:
        check_systemd(argv[2])
    elif argv[1:2] == ["socket"] and len(argv) == 3:
        check_socket_activation(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(f"check_deploy: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
