package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop the bridge if scim-load itself is killed, so no bridge outlives its run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
