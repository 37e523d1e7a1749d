package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(rev, when, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "66181ef163f5dd41c5f50245b3ded79533149ae8"
	for _, tc := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"release build: VERSION stamped, VCS stamping off (CI's -buildvcs=false)", "v1.2.3",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"scim-bridge v1.2.3 (go1.26.0 " + platform + ")"},
		{"release build in a checkout", "v1.2.3",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2025-12-01T08:26:08Z", "false")},
			"scim-bridge v1.2.3 (commit 66181ef163f5, 2025-12-01T08:26:08Z; go1.26.0 " + platform + ")"},
		{"docker build without VERSION: the commit, and that the tree was modified", "",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20251201082608-66181ef163f5+dirty"}, Settings: vcs(rev, "2025-12-01T08:26:08Z", "true")},
			"scim-bridge v0.0.0-20251201082608-66181ef163f5+dirty (commit 66181ef163f5, 2025-12-01T08:26:08Z, modified; go1.26.0 " + platform + ")"},
		{"go install ...@v1.4.0", "",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}},
			"scim-bridge v1.4.0 (go1.26.0 " + platform + ")"},
		{"nothing to go by: say why", "",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"scim-bridge dev (no version stamped and no VCS information: built with -buildvcs=false or outside a git checkout; go1.26.0 " + platform + ")"},
		{"no build information at all", "", nil,
			"scim-bridge dev (no version stamped and no VCS information: built with -buildvcs=false or outside a git checkout; " + runtime.Version() + " " + platform + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatVersion(tc.stamped, tc.bi); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestVersionStampedByTheBuild builds the binary as the Dockerfile does, with and without the VERSION build
// argument, and runs `scim-bridge version` as an operator would.
func TestVersionStampedByTheBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := func(t *testing.T, out string, args ...string) string {
		t.Helper()
		bin := filepath.Join(dir, out)
		cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), "./cmd/scim-bridge")...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, b)
		}
		v, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", out, err)
		}
		return strings.TrimSpace(string(v))
	}

	t.Run("VERSION given", func(t *testing.T) {
		got := build(t, "stamped", "-buildvcs=false", "-ldflags", "-X main.version=v9.8.7-test")
		if !strings.HasPrefix(got, "scim-bridge v9.8.7-test (") {
			t.Errorf("version = %q", got)
		}
	})
	t.Run("no VERSION: the commit Go embeds", func(t *testing.T) {
		// The Dockerfile builds with VCS stamping when the context has .git. Here as there: CI's GOFLAGS say
		// -buildvcs=false, which a flag on the command line overrides.
		head, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("git rev-parse HEAD in %s: %v (the test needs the repository's git checkout)", repo, err)
		}
		got := build(t, "vcs", "-buildvcs=true")
		if want := "commit " + strings.TrimSpace(string(head))[:12]; !strings.Contains(got, want) {
			t.Errorf("version = %q, want it to name %q", got, want)
		}
	})
	t.Run("no VERSION and no VCS information", func(t *testing.T) {
		got := build(t, "bare", "-buildvcs=false")
		if !strings.HasPrefix(got, "scim-bridge dev (no version stamped and no VCS information") {
			t.Errorf("version = %q", got)
		}
	})
}
