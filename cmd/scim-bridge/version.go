package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is stamped by a release build: -ldflags "-X main.version=v1.2.3" (the Dockerfile's VERSION build
// argument). Without it, versionString uses what Go embeds in every binary (runtime/debug.ReadBuildInfo): the
// module's version (`go install ...@v1.2.3`, or the one Go derives from the git tag and commit) and, when the build
// ran in a git checkout with VCS stamping on (go build's default; the Dockerfile's default too), the commit, its
// time and whether the tree had uncommitted changes.
var version = ""

// versionString is what `scim-bridge version` prints and the start-up log records, e.g.
//
//	scim-bridge v1.2.3 (commit 66181ef0c3a1, 2025-12-01T08:03:00Z; go1.26.0 linux/amd64)
//	scim-bridge dev (commit 66181ef0c3a1, 2025-12-01T08:03:00Z, modified; go1.26.0 linux/amd64)
//	scim-bridge dev (no version stamped and no VCS information: built with -buildvcs=false or outside a git checkout; go1.26.0 linux/amd64)
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, bi)
}

// formatVersion renders the version from the stamped one and the build information (nil when there is none).
func formatVersion(stamped string, bi *debug.BuildInfo) string {
	v := strings.TrimSpace(stamped)
	rev, when, dirty := "", "", false
	goVersion := runtime.Version()
	if bi != nil {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
	}
	var details []string
	switch {
	case rev != "":
		d := "commit " + rev[:min(12, len(rev))]
		if when != "" {
			d += ", " + when
		}
		if dirty {
			d += ", modified"
		}
		details = append(details, d)
	case v == "":
		// CI builds with -buildvcs=false, and a source tree without .git (a tarball, a Docker build context
		// without it) has nothing to embed: say so rather than print a bare "dev".
		details = append(details, "no version stamped and no VCS information: built with -buildvcs=false or outside a git checkout")
	}
	if v == "" {
		v = "dev"
	}
	details = append(details, goVersion+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return "scim-bridge " + v + " (" + strings.Join(details, "; ") + ")"
}
