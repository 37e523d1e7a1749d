// Command check validates the packaging files with the parsers their tools use, offline:
//
//   - Dockerfile: BuildKit's Dockerfile frontend lints it, as `docker build --check` does, with every base image
//     answered by an empty image instead of a registry (no Docker engine or network is needed).
//   - deploy/compose/compose.yaml: compose-go, the loader of `docker compose` v2 (`docker compose config`), checks
//     it against the Compose specification's schema and resolves its merge keys, interpolation and references,
//     once with no variables set and once with .env.example.
//   - deploy/kubernetes: the kustomize API (what `kubectl apply -k` runs) renders the kustomization; every object
//     it makes, and every *.example.yaml, is decoded strictly into the k8s.io/api types: an unknown or misspelt
//     field or a wrong type fails. -objects writes the rendered objects as a JSON array, for the OpenAPI schema
//     check of schema.mjs.
//
// Run from the repository root through deploy/check/run (CI's "packaging" step), or: cd deploy/check && go run . -repo ../..
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func main() {
	repo := flag.String("repo", "../..", "the repository root")
	objects := flag.String("objects", "", "write the rendered Kubernetes objects to this file as a JSON array")
	flag.Parse()
	ok := true
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"Dockerfile (BuildKit's parser and linter)", func() error { return lintDockerfile(filepath.Join(*repo, "Dockerfile")) }},
		{"deploy/compose/compose.yaml (compose-go)", func() error { return loadCompose(filepath.Join(*repo, "deploy/compose")) }},
		{"deploy/kubernetes (kustomize, strict k8s.io/api decoding)", func() error {
			return checkKubernetes(filepath.Join(*repo, "deploy/kubernetes"), *objects)
		}},
	} {
		if err := c.run(); err != nil {
			ok = false
			fmt.Printf("FAIL %s:\n  %s\n", c.name, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			continue
		}
		fmt.Printf("ok   %s\n", c.name)
	}
	if !ok {
		os.Exit(1)
	}
}

// lintDockerfile runs BuildKit's lint of the Dockerfile: its parse, every instruction's flags and arguments, and
// the build checks (https://docs.docker.com/reference/build-checks/). Any warning fails.
func lintDockerfile(path string) error {
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := llb.Local("context")
	def, err := src.Marshal(context.Background())
	if err != nil {
		return err
	}
	sm := llb.NewSourceMap(&src, "Dockerfile", "Dockerfile", dt)
	sm.Definition = def
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		return err
	}
	var problems []string
	for _, w := range res.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		problems = append(problems, res.Error.Message)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// offlineImages answers every base image with an empty Linux image: the lint needs no registry.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes([]byte(ref)), cfg, nil
}

// loadCompose loads the Compose project as `docker compose config` does: without variables (every default), and
// with .env.example as the .env file.
func loadCompose(dir string) error {
	file := filepath.Join(dir, "compose.yaml")
	for _, envFiles := range [][]string{nil, {filepath.Join(dir, ".env.example")}} {
		opts, err := cli.NewProjectOptions([]string{file},
			cli.WithWorkingDirectory(dir),
			cli.WithEnvFiles(envFiles...),
			cli.WithDotEnv,
			cli.WithConsistency(true),
			cli.WithResolvedPaths(true),
		)
		if err != nil {
			return err
		}
		p, err := opts.LoadProject(context.Background())
		if err != nil {
			return fmt.Errorf("with env files %v: %w", envFiles, err)
		}
		if len(p.Services) == 0 {
			return errors.New("no services")
		}
	}
	return nil
}

// checkKubernetes renders the kustomization and decodes each object strictly, then the examples beside it.
func checkKubernetes(dir, objectsOut string) error {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return fmt.Errorf("kustomize build: %w", err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		return err
	}
	var problems []string
	var all []json.RawMessage
	docs := splitYAML(out)
	if len(docs) == 0 {
		return errors.New("kustomize build rendered nothing")
	}
	for _, d := range docs {
		j, err := strictDecode(d)
		if err != nil {
			problems = append(problems, "rendered: "+err.Error())
			continue
		}
		all = append(all, j)
	}
	examples, _ := filepath.Glob(filepath.Join(dir, "*.example.yaml"))
	sort.Strings(examples)
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, d := range splitYAML(b) {
			j, err := strictDecode(d)
			if err != nil {
				problems = append(problems, filepath.Base(f)+": "+err.Error())
				continue
			}
			all = append(all, j)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	if objectsOut != "" {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(objectsOut, b, 0o644)
	}
	return nil
}

// kinds are the object types the manifests may hold, by apiVersion and kind.
var kinds = map[string]func() any{
	"v1/ConfigMap":                  func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                     func() any { return &corev1.Secret{} },
	"v1/Service":                    func() any { return &corev1.Service{} },
	"v1/ServiceAccount":             func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":            func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":  func() any { return &networkingv1.Ingress{} },
}

// strictDecode decodes one object into its k8s.io/api type, refusing unknown and duplicate fields, and returns it
// as JSON.
func strictDecode(doc []byte) (json.RawMessage, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return nil, err
	}
	id := meta.APIVersion + "/" + meta.Kind
	newObj, ok := kinds[id]
	if !ok {
		return nil, fmt.Errorf("%s %q: not a kind this check knows", id, meta.Metadata.Name)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %q: %w", meta.Kind, meta.Metadata.Name, err)
	}
	return yaml.YAMLToJSON(doc)
}

// splitYAML splits a multi-document YAML stream, dropping empty documents.
func splitYAML(b []byte) [][]byte {
	var out [][]byte
	for _, d := range strings.Split("\n"+string(b), "\n---") {
		d = strings.TrimPrefix(d, "\n")
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
