package main

// The packaging files (Dockerfile, deploy/compose, deploy/kubernetes, docs/operations.md's deploy section) are
// checked here for what their tools' schemas cannot see: that they fit the binary and each other. deploy/check/run
// (CI's "packaging" step) runs the tools' own parsers on them.

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

const repoRoot = "../.."

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, name string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, name)))
	var out []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("%s: %v", name, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

func yamlDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, name)
	if len(docs) != 1 {
		t.Fatalf("%s holds %d documents, want 1", name, len(docs))
	}
	return docs[0]
}

// at walks a decoded YAML document: at(doc, "spec", "template", 0) is doc.spec.template[0]; nil when absent.
func at(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, str(e))
	}
	return out
}

func mapKeys(v any) []string {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// secretSetting reports whether a setting is a secret (and so has a _FILE twin).
func secretSetting(env string) bool {
	for _, s := range allSettings() {
		if s.Env == env {
			return s.Secret
		}
	}
	return false
}

// fileKeys lists the *_file keys of a bridge config file, top level, defaults and connections, with their paths.
func fileKeys(cfg map[string]any) map[string]string {
	out := map[string]string{}
	add := func(where string, m any) {
		for _, k := range mapKeys(m) {
			if strings.HasSuffix(k, "_file") {
				out[where+k] = str(at(m, k))
			}
		}
	}
	add("", cfg)
	add("defaults.", cfg["defaults"])
	for i := range len(strs(cfg["connections"])) {
		add(fmt.Sprintf("connections[%d].", i), at(cfg, "connections", i))
	}
	return out
}

func TestDeployDockerfile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	var instr []string // instructions, continuation lines joined, comments apart
	var comments []string
	cur := ""
	for _, l := range strings.Split(df, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") {
			comments = append(comments, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur += cont + " "
			continue
		}
		if cur += trimmed; strings.TrimSpace(cur) != "" {
			instr = append(instr, strings.Join(strings.Fields(cur), " "))
		}
		cur = ""
	}
	final := instr[slices.IndexFunc(instr, func(s string) bool { return strings.HasPrefix(s, "FROM gcr.io/distroless") }):]
	find := func(prefix string) []string {
		var out []string
		for _, s := range final {
			if strings.HasPrefix(s, prefix) {
				out = append(out, s)
			}
		}
		return out
	}

	if u := find("USER "); len(u) != 1 || u[0] != "USER 65532:65532" {
		t.Errorf("final stage USER = %v, want USER 65532:65532 (non-root, the uid the Kubernetes securityContext names)", u)
	}
	const bin = "/usr/local/bin/scim-bridge"
	if hc := find("HEALTHCHECK "); len(hc) != 1 || !strings.Contains(hc[0], `CMD ["`+bin+`", "healthcheck"`) {
		t.Errorf("HEALTHCHECK = %v, want the exec form of %s healthcheck (distroless has no shell)", hc, bin)
	} else if m := regexp.MustCompile(`--timeout=(\d+)s .*"--timeout", "(\d+)s"`).FindStringSubmatch(hc[0]); m == nil {
		t.Errorf("HEALTHCHECK %q: want Docker's --timeout and the probe's own --timeout", hc[0])
	} else if docker, own := atoiT(t, m[1]), atoiT(t, m[2]); own >= docker {
		t.Errorf("HEALTHCHECK: the probe's timeout (%ds) must be shorter than Docker's (%ds), or Docker kills it before it reports", own, docker)
	}
	if e := find("ENTRYPOINT "); len(e) != 1 || e[0] != `ENTRYPOINT ["`+bin+`"]` {
		t.Errorf("ENTRYPOINT = %v", e)
	}
	if c := find("COPY --from=build /out/scim-bridge "); len(c) != 1 || !strings.HasSuffix(c[0], " "+bin) {
		t.Errorf("the binary is not copied to %s: %v", bin, c)
	}
	// An environment value of a process setting would override a SCIM_BRIDGE_CONFIG file's (connectionsOf).
	for _, e := range find("ENV ") {
		for env := range processSettings {
			if strings.Contains(e, env+"=") {
				t.Errorf("%q: %s in the image's environment would override the listen/db of a config file", e, env)
			}
		}
	}
	build := strings.Join(instr, "\n")
	for _, want := range []string{"ARG VERSION", "-X main.version=$VERSION", `-buildvcs="$vcs"`, "CGO_ENABLED=0"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage lacks %q: the version is stamped from VERSION or from the git commit", want)
		}
	}

	// The run example reads secrets from files, never from -e values.
	example := strings.Join(comments, "\n")
	if !strings.Contains(example, "docker run") {
		t.Fatal("the Dockerfile's comment has no docker run example")
	}
	fileVars := regexp.MustCompile(`-e (SCIM_BRIDGE_[A-Z_]+)_FILE=/run/secrets/`).FindAllStringSubmatch(example, -1)
	if len(fileVars) < 2 {
		t.Errorf("the run example gives %d secrets as *_FILE, want the IdP token and the vendor key", len(fileVars))
	}
	for _, m := range fileVars {
		if !secretSetting(m[1]) {
			t.Errorf("the run example gives %s_FILE, but %s is not a secret setting (no _FILE twin)", m[1], m[1])
		}
	}
	for _, m := range regexp.MustCompile(`-e (SCIM_BRIDGE_[A-Z_]+)=`).FindAllStringSubmatch(example, -1) {
		if secretSetting(m[1]) {
			t.Errorf("the run example passes the secret %s with -e: use %s_FILE", m[1], m[1])
		}
	}
	if !strings.Contains(example, "/run/secrets:ro") {
		t.Error("the run example does not mount the secrets directory read-only at /run/secrets")
	}
	di := readRepoFile(t, ".dockerignore")
	for _, want := range []string{"deploy/compose/secrets", "/scim-bridge", "*.db"} {
		if !slices.Contains(strings.Split(di, "\n"), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	if slices.Contains(strings.Split(di, "\n"), ".git") {
		t.Error(".dockerignore leaves out .git: the image's binary then cannot carry its commit")
	}
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeployCompose(t *testing.T) {
	c := yamlDoc(t, "deploy/compose/compose.yaml")
	services, _ := c["services"].(map[string]any)
	var bridges []string
	for _, name := range mapKeys(services) {
		if str(at(services, name, "build", "context")) == "../.." {
			bridges = append(bridges, name)
		}
	}
	if len(bridges) < 2 {
		t.Fatalf("bridge services (built from the repository) = %v, want two replicas", bridges)
	}
	if img := str(at(services, "postgres", "image")); !strings.HasPrefix(img, "postgres:") {
		t.Errorf("postgres image = %q", img)
	}
	if img := str(at(services, "proxy", "image")); !strings.HasPrefix(img, "caddy:") {
		t.Errorf("proxy image = %q, want the official caddy image", img)
	}
	if at(c, "networks", "db", "internal") != true {
		t.Error("the db network is not internal: Postgres would be reachable from outside the project")
	}

	secretsDefined := map[string]string{}
	for _, name := range mapKeys(c["secrets"]) {
		f := str(at(c, "secrets", name, "file"))
		if !strings.HasPrefix(f, "./secrets/") {
			t.Errorf("secret %s comes from %q, want a file in ./secrets/ (git- and docker-ignored)", name, f)
		}
		secretsDefined[name] = strings.TrimPrefix(f, "./")
	}
	used := map[string]bool{}
	for _, svc := range mapKeys(services) {
		for _, s := range strs(at(services, svc, "secrets")) {
			used[s] = true
			if _, ok := secretsDefined[s]; !ok {
				t.Errorf("service %s uses the secret %s, which is not defined", svc, s)
			}
		}
		// No secret in any service's environment.
		for _, k := range mapKeys(at(services, svc, "environment")) {
			v := str(at(services, svc, "environment", k))
			if secretSetting(k) || k == "SCIM_BRIDGE_DB" || k == "POSTGRES_PASSWORD" || strings.Contains(v, "://") && strings.Contains(v, "@") {
				t.Errorf("service %s has %s in its environment: secrets are files", svc, k)
			}
		}
	}
	for name := range secretsDefined {
		if !used[name] {
			t.Errorf("secret %s is defined but no service uses it", name)
		}
	}
	if f := str(at(services, "postgres", "environment", "POSTGRES_PASSWORD_FILE")); !strings.HasPrefix(f, "/run/secrets/") ||
		!slices.Contains(strs(at(services, "postgres", "secrets")), path.Base(f)) {
		t.Errorf("POSTGRES_PASSWORD_FILE = %q, want a secret granted to postgres", f)
	}
	if strs(at(services, "postgres", "healthcheck", "test")) == nil {
		t.Error("postgres has no healthcheck: the bridges wait for it to be healthy")
	}

	cfg := yamlDoc(t, "deploy/compose/config.yaml")
	caddy := readRepoFile(t, "deploy/compose/Caddyfile")
	_, port, err := splitListen(str(cfg["listen"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bridges {
		s := at(services, b)
		if hc := strs(at(s, "healthcheck", "test")); len(hc) < 3 || hc[0] != "CMD" || hc[1] != "/usr/local/bin/scim-bridge" || hc[2] != "healthcheck" {
			t.Errorf("%s healthcheck = %v, want the binary's own healthcheck", b, hc)
		}
		if str(at(s, "depends_on", "postgres", "condition")) != "service_healthy" {
			t.Errorf("%s does not wait for postgres to be healthy", b)
		}
		if at(s, "read_only") != true || !slices.Contains(strs(at(s, "cap_drop")), "ALL") {
			t.Errorf("%s: want read_only and cap_drop ALL", b)
		}
		// The config file is the one mounted at SCIM_BRIDGE_CONFIG.
		cfgPath := str(at(s, "environment", "SCIM_BRIDGE_CONFIG"))
		src := ""
		for i := range len(strs(at(s, "configs"))) {
			if str(at(s, "configs", i, "target")) == cfgPath {
				src = str(at(s, "configs", i, "source"))
			}
		}
		if src == "" || str(at(c, "configs", src, "file")) != "./config.yaml" {
			t.Errorf("%s: SCIM_BRIDGE_CONFIG=%q is not ./config.yaml mounted as a config", b, cfgPath)
		}
		// Every file config.yaml reads is a secret this replica is granted.
		granted := strs(at(s, "secrets"))
		for key, p := range fileKeys(cfg) {
			if dir, name := path.Split(p); dir != "/run/secrets/" || !slices.Contains(granted, name) {
				t.Errorf("config.yaml %s: %s is not a secret granted to %s (%v)", key, p, b, granted)
			}
		}
		if !regexp.MustCompile(`reverse_proxy [^{]*\b` + regexp.QuoteMeta(b+":"+port) + `\b`).MatchString(caddy) {
			t.Errorf("the Caddyfile does not send requests to %s:%s", b, port)
		}
	}
	if _, ok := fileKeys(cfg)["db_file"]; !ok {
		t.Error("config.yaml does not read the Postgres URL from a file (db_file)")
	}
	for _, want := range []string{"health_uri /readyz", "respond /metrics* 404"} {
		if !strings.Contains(caddy, want) {
			t.Errorf("the Caddyfile lacks %q", want)
		}
	}

	// The variables of compose.yaml and .env.example are the same.
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)[:}-]`).FindAllStringSubmatch(readRepoFile(t, "deploy/compose/compose.yaml"), -1) {
		vars[m[1]] = true
	}
	example := map[string]bool{}
	for _, l := range strings.Split(readRepoFile(t, "deploy/compose/.env.example"), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			example[k] = true
			if !vars[k] {
				t.Errorf(".env.example sets %s, which compose.yaml does not use", k)
			}
		}
	}
	for v := range vars {
		if !example[v] {
			t.Errorf("compose.yaml uses ${%s}, which .env.example does not list", v)
		}
	}

	// The README writes every secret file, and git ignores them.
	readme := readRepoFile(t, "deploy/compose/README.md")
	for name, f := range secretsDefined {
		if !regexp.MustCompile(`> ` + regexp.QuoteMeta(f) + `\b`).MatchString(readme) {
			t.Errorf("README.md never writes %s (secret %s)", f, name)
		}
	}
	gi := readRepoFile(t, "deploy/compose/.gitignore")
	for _, want := range []string{"/secrets/", "/.env"} {
		if !strings.Contains(gi, want) {
			t.Errorf("deploy/compose/.gitignore lacks %s", want)
		}
	}
}

// splitListen is net.SplitHostPort for a listen address.
func splitListen(listen string) (host, port string, err error) {
	i := strings.LastIndex(listen, ":")
	if i < 0 {
		return "", "", fmt.Errorf("listen %q has no port", listen)
	}
	return listen[:i], listen[i+1:], nil
}

func TestDeployKubernetes(t *testing.T) {
	dir := "deploy/kubernetes"
	kust := yamlDoc(t, dir+"/kustomization.yaml")
	entries, err := os.ReadDir(filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatal(err)
	}
	var manifests []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".yaml") && n != "kustomization.yaml" && n != "config.yaml" && !strings.HasSuffix(n, ".example.yaml") {
			manifests = append(manifests, n)
		}
	}
	resources := strs(kust["resources"])
	sort.Strings(resources)
	if !slices.Equal(resources, manifests) {
		t.Errorf("kustomization resources = %v, want every manifest of the directory but the examples: %v", resources, manifests)
	}
	byKind := map[string]map[string]any{}
	for _, f := range manifests {
		for _, d := range yamlDocs(t, dir+"/"+f) {
			kind := str(d["kind"])
			if kind == "Secret" {
				t.Errorf("%s holds a Secret: secrets are created by hand, never committed", f)
			}
			if byKind[kind] != nil {
				t.Errorf("two %s objects", kind)
			}
			byKind[kind] = d
		}
	}
	dep, svc, pdb := byKind["Deployment"], byKind["Service"], byKind["PodDisruptionBudget"]
	if dep == nil || svc == nil || pdb == nil {
		t.Fatalf("want a Deployment, a Service and a PodDisruptionBudget; have %v", slices.Sorted(maps.Keys(byKind)))
	}
	replicas, _ := at(dep, "spec", "replicas").(int)
	if replicas < 2 {
		t.Errorf("replicas = %d, want 2 or more", replicas)
	}
	pod := at(dep, "spec", "template")
	podLabels := at(pod, "metadata", "labels")
	matches := func(what string, selector any) {
		t.Helper()
		if len(mapKeys(selector)) == 0 {
			t.Errorf("%s selects nothing", what)
		}
		for _, k := range mapKeys(selector) {
			if str(at(podLabels, k)) != str(at(selector, k)) {
				t.Errorf("%s selects %s=%v; the pods have %v", what, k, at(selector, k), at(podLabels, k))
			}
		}
	}
	matches("the Deployment", at(dep, "spec", "selector", "matchLabels"))
	matches("the Service", at(svc, "spec", "selector"))
	matches("the PodDisruptionBudget", at(pdb, "spec", "selector", "matchLabels"))
	if minAvail, ok := at(pdb, "spec", "minAvailable").(int); !ok || minAvail < 1 || minAvail >= replicas {
		t.Errorf("PodDisruptionBudget minAvailable = %v with %d replicas: want at least 1 and fewer than the replicas, or drains block", at(pdb, "spec", "minAvailable"), replicas)
	}

	spec := at(pod, "spec")
	if at(spec, "securityContext", "runAsNonRoot") != true || at(spec, "securityContext", "runAsUser") != 65532 {
		t.Errorf("pod securityContext = %v, want runAsNonRoot and the image's uid 65532", at(spec, "securityContext"))
	}
	if at(spec, "automountServiceAccountToken") != false {
		t.Error("the pods get a service-account token they never use")
	}
	containers, _ := at(spec, "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	ctr := containers[0]
	sc := at(ctr, "securityContext")
	if at(sc, "readOnlyRootFilesystem") != true || at(sc, "allowPrivilegeEscalation") != false || !slices.Contains(strs(at(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("container securityContext = %v, want a read-only root filesystem, no privilege escalation, no capabilities", sc)
	}
	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		k, v, _ := strings.Cut(r, ".")
		if at(ctr, "resources", k, v) == nil {
			t.Errorf("resources.%s is not set", r)
		}
	}

	// The ports: config.yaml's listen port is the containerPort the probes and the Service name.
	cfg := yamlDoc(t, dir+"/config.yaml")
	_, listenPort, err := splitListen(str(cfg["listen"]))
	if err != nil {
		t.Fatal(err)
	}
	portNames := map[string]string{} // name or number -> number
	for i := range len(strs(at(ctr, "ports"))) {
		p := at(ctr, "ports", i)
		n := str(at(p, "containerPort"))
		portNames[n] = n
		if name := str(at(p, "name")); name != "" {
			portNames[name] = n
		}
	}
	if !slices.Contains(mapValues(portNames), listenPort) {
		t.Errorf("config.yaml listens on %s; the container declares %v", listenPort, portNames)
	}
	for probe, want := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		p := at(ctr, probe, "httpGet")
		if str(at(p, "path")) != want {
			t.Errorf("%s path = %v, want %s", probe, at(p, "path"), want)
		}
		if portNames[str(at(p, "port"))] != listenPort {
			t.Errorf("%s port %v is not the port the bridge listens on (%s)", probe, at(p, "port"), listenPort)
		}
	}
	if portNames[str(at(svc, "spec", "ports", 0, "targetPort"))] != listenPort {
		t.Errorf("the Service's targetPort %v is not the bridge's port", at(svc, "spec", "ports", 0, "targetPort"))
	}

	// The config file: made by the generator, mounted where SCIM_BRIDGE_CONFIG says.
	genName := str(at(kust, "configMapGenerator", 0, "name"))
	if !slices.Contains(strs(at(kust, "configMapGenerator", 0, "files")), "config.yaml") {
		t.Error("the kustomization does not make the ConfigMap from config.yaml")
	}
	var cfgEnv string
	for i := range len(strs(at(ctr, "env"))) {
		if str(at(ctr, "env", i, "name")) == "SCIM_BRIDGE_CONFIG" {
			cfgEnv = str(at(ctr, "env", i, "value"))
		}
		if secretSetting(str(at(ctr, "env", i, "name"))) && at(ctr, "env", i, "value") != nil {
			t.Errorf("env %v holds a secret's value", at(ctr, "env", i, "name"))
		}
	}
	volumes := map[string]any{}
	for i := range len(strs(at(spec, "volumes"))) {
		volumes[str(at(spec, "volumes", i, "name"))] = at(spec, "volumes", i)
	}
	secretMounts := map[string]string{} // mount path -> Secret name
	cfgMounted := false
	for i := range len(strs(at(ctr, "volumeMounts"))) {
		m := at(ctr, "volumeMounts", i)
		v := volumes[str(at(m, "name"))]
		if name := str(at(v, "configMap", "name")); name != "" && name == genName && str(at(m, "mountPath")) == cfgEnv && str(at(m, "subPath")) == "config.yaml" {
			cfgMounted = true
		}
		if name := str(at(v, "secret", "secretName")); name != "" {
			secretMounts[str(at(m, "mountPath"))] = name
		}
	}
	if !cfgMounted {
		t.Errorf("SCIM_BRIDGE_CONFIG=%q is not the ConfigMap %s's config.yaml", cfgEnv, genName)
	}

	// Every secret referenced is documented: in secret.example.yaml (with placeholders only) and in the README's
	// kubectl create secret command, key by key.
	example := yamlDoc(t, dir+"/secret.example.yaml")
	readme := readRepoFile(t, dir+"/README.md")
	exampleKeys := map[string]bool{}
	for _, k := range mapKeys(example["stringData"]) {
		exampleKeys[k] = true
		if v := str(at(example, "stringData", k)); v != "REPLACE-ME" {
			t.Errorf("secret.example.yaml %s = %q: placeholders only", k, v)
		}
	}
	referenced := map[string][]string{} // Secret name -> keys
	for key, p := range fileKeys(cfg) {
		d, k := path.Split(p)
		name := secretMounts[strings.TrimSuffix(d, "/")]
		if name == "" {
			t.Errorf("config.yaml %s: %s is in no Secret's mount (%v)", key, p, secretMounts)
			continue
		}
		referenced[name] = append(referenced[name], k)
	}
	for i := range len(strs(at(ctr, "env"))) {
		if ref := at(ctr, "env", i, "valueFrom", "secretKeyRef"); ref != nil {
			referenced[str(at(ref, "name"))] = append(referenced[str(at(ref, "name"))], str(at(ref, "key")))
		}
	}
	if len(referenced) == 0 {
		t.Fatal("the Deployment references no Secret")
	}
	for name, keys := range referenced {
		if str(at(example, "metadata", "name")) != name {
			t.Errorf("secret.example.yaml is %v, the Deployment mounts %s", at(example, "metadata", "name"), name)
		}
		create := regexp.MustCompile(`kubectl -n scim-bridge create secret generic ` + regexp.QuoteMeta(name) + `((?:\s*\\?\n?\s*--from-file=[^\s]+)+)`).FindStringSubmatch(readme)
		if create == nil {
			t.Errorf("README.md has no `kubectl -n scim-bridge create secret generic %s --from-file=...`", name)
			continue
		}
		for _, k := range keys {
			if !exampleKeys[k] {
				t.Errorf("secret.example.yaml lacks the key %s that config.yaml reads", k)
			}
			if !strings.Contains(create[1], "--from-file="+k+"=") {
				t.Errorf("README.md's kubectl create secret does not set the key %s that config.yaml reads", k)
			}
		}
	}
	if _, ok := fileKeys(cfg)["db_file"]; !ok {
		t.Error("config.yaml does not read the Postgres URL from the Secret (db_file)")
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestDeployConfigsRunTwoReplicas starts two real bridge processes from each deployment's config.yaml, on one
// Postgres database, with the secret files in place, and checks that they serve as a pair and pass the health
// check the containers run. Only what a test must change is changed: the paths of the secret files, and the
// vendor's URL (the emulator's).
func TestDeployConfigsRunTwoReplicas(t *testing.T) {
	for _, name := range []string{"deploy/compose/config.yaml", "deploy/kubernetes/config.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg := yamlDoc(t, name)
			const apiKey = "vendor-key-0123456789abcdef"
			dir := t.TempDir()
			dbURL := pgtest.Schema(t)
			vendors := map[string]*httptest.Server{}
			// Secrets: each *_file gets a file of its own in dir, holding what the key names.
			rewrite := func(m map[string]any) {
				for _, k := range mapKeys(m) {
					if !strings.HasSuffix(k, "_file") {
						continue
					}
					var content string
					switch k {
					case "db_file":
						content = dbURL
					case "token_file":
						content = replicaToken
					case "upstream_token_file":
						content = apiKey
					default:
						content = "secret-" + k
					}
					p := filepath.Join(dir, strings.ReplaceAll(strings.Trim(str(m[k]), "/"), "/", "_"))
					if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					m[k] = p
				}
			}
			rewrite(cfg)
			if d, ok := cfg["defaults"].(map[string]any); ok {
				rewrite(d)
			}
			conns, _ := cfg["connections"].([]any)
			if len(conns) == 0 {
				t.Fatal("no connections")
			}
			var basePaths []string
			for _, c := range conns {
				m := c.(map[string]any)
				rewrite(m)
				tg, err := targets.Lookup(str(m["target"]))
				if err != nil {
					t.Fatal(err)
				}
				emu := tg.Emulator(apiKey)
				srv := httptest.NewServer(emu)
				t.Cleanup(srv.Close)
				vendors[str(m["name"])] = srv
				m["upstream_url"] = emu.BaseURL(srv.URL)
				delete(m, "ti_subdomain")
				basePaths = append(basePaths, str(m["base_path"]))
			}
			out, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfgFile := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfgFile, out, 0o600); err != nil {
				t.Fatal(err)
			}

			env := map[string]string{"SCIM_BRIDGE_CONFIG": cfgFile, "SCIM_BRIDGE_LISTEN": "127.0.0.1:0"}
			a := startReplica(t, "replica 1", env)
			b := startReplica(t, "replica 2", env)
			for _, r := range []*replica{a, b} {
				addr := strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/scim/v2")
				// The container's health check, with its environment (and this test's listen address).
				status, stdout, stderr := probe(t, map[string]string{"SCIM_BRIDGE_CONFIG": cfgFile, "SCIM_BRIDGE_LISTEN": addr}, "--path", "/readyz")
				if status != 0 {
					t.Errorf("%s: healthcheck --path /readyz: status %d, %s%s", r.name, status, stdout, stderr)
				}
				// Each replica serves every connection's base path.
				r.url = "http://" + addr + basePaths[0]
			}
			created := a.do(http.MethodPost, "/Users", scimUser("deploy.check@example.com", "Deploy", "Check"))
			if created.status != http.StatusCreated {
				t.Fatalf("create through replica 1: %d %v %v", created.status, created.body, created.err)
			}
			id, _ := created.body["id"].(string)
			if got := b.do(http.MethodGet, "/Users/"+id, nil); got.status != http.StatusOK || got.body["userName"] != "deploy.check@example.com" {
				t.Errorf("read through replica 2: %d %v: the replicas do not share the store", got.status, got.body)
			}
			// What the start-up log says of the database must not hold the password of the URL read from the file.
			for _, r := range []*replica{a, b} {
				if u := dbURL; strings.Contains(u, "@") {
					if pw := passwordOf(u); pw != "" && bytes.Contains([]byte(r.logs.String()), []byte(pw)) {
						t.Errorf("%s's log holds the database password", r.name)
					}
				}
			}
		})
	}
}

// passwordOf is the password of a postgres:// URL, "" when it has none.
func passwordOf(u string) string {
	rest, ok := strings.CutPrefix(u, "postgres://")
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// TestDeployDocsNameRealMetrics keeps the deploy section of docs/operations.md honest: every metric it names is
// one the code registers, and every file or command path it names exists.
func TestDeployDocsNameRealMetrics(t *testing.T) {
	doc := readRepoFile(t, "docs/operations.md")
	start := strings.Index(doc, "\n## Packaging and deploying")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "## Packaging and deploying" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	registered := map[string]bool{}
	nameRE := regexp.MustCompile(`"(scim_bridge_[a-z_]+)"`)
	err := filepath.WalkDir(repoRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".ci" || p == filepath.Join(repoRoot, "deploy")) {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range nameRE.FindAllStringSubmatch(string(b), -1) {
				registered[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`scim_bridge_[a-z_]+`).FindAllString(section, -1)
	if len(named) < 5 {
		t.Errorf("the section names %d metrics, want the ones to watch", len(named))
	}
	for _, n := range named {
		base := n
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if b, ok := strings.CutSuffix(n, suffix); ok && registered[b] {
				base = b
			}
		}
		if !registered[base] {
			t.Errorf("docs/operations.md names the metric %s, which no code registers", n)
		}
	}
	for _, m := range regexp.MustCompile(`deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_]|Dockerfile`).FindAllString(section, -1) {
		if strings.HasPrefix(m, "deploy/compose/secrets") {
			continue // written by the operator, never committed
		}
		if _, err := os.Stat(filepath.Join(repoRoot, strings.TrimSuffix(m, "/"))); err != nil {
			t.Errorf("docs/operations.md names %s, which does not exist", m)
		}
	}
	for _, want := range []string{"scim-bridge healthcheck", "docker build", "docker compose", "kubectl apply -k deploy/kubernetes"} {
		if !strings.Contains(section, want) {
			t.Errorf("the section does not say how to use %q", want)
		}
	}
}
